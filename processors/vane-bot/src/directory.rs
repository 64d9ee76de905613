//! Which account a chat belongs to, from the users' events on `vane.users` (a global table the
//! bot reads to the end at start and then follows). Pure.
//!
//! A user has at most one chat: linking another replaces it. A chat belongs to the account that
//! linked it last, so a chat moved to a new account is no longer the old one's. A deleted
//! account loses its chat.

use std::collections::HashMap;

use vane_events::{UserChange, UserEvent};

/// Chats and their accounts, both ways.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ChatDirectory {
    user_of_chat: HashMap<i64, String>,
    chat_of_user: HashMap<String, i64>,
}

impl ChatDirectory {
    /// The account linked to `chat_id`.
    pub fn user_of(&self, chat_id: i64) -> Option<&str> {
        self.user_of_chat.get(&chat_id).map(String::as_str)
    }

    /// Linked chats.
    pub fn len(&self) -> usize {
        self.user_of_chat.len()
    }

    pub fn is_empty(&self) -> bool {
        self.user_of_chat.is_empty()
    }

    /// Applies one event of `vane.users`, in log order.
    pub fn apply(&mut self, event: &UserEvent) {
        if event.change == UserChange::Deleted {
            self.unlink_user(&event.user.id);
        } else {
            self.set(&event.user.id, event.user.chat_id);
        }
    }

    /// Links `chat_id` to `user_id` (what the event of a redeemed link code will say).
    pub fn link(&mut self, chat_id: i64, user_id: &str) {
        self.set(user_id, Some(chat_id));
    }

    /// A change of the user's chat claims the chat; an event that repeats the user's current
    /// chat (a settings change, a replay) claims nothing.
    fn set(&mut self, user_id: &str, chat_id: Option<i64>) {
        if self.chat_of_user.get(user_id).copied() == chat_id {
            return;
        }
        self.unlink_user(user_id);
        let Some(chat_id) = chat_id else { return };
        self.user_of_chat.insert(chat_id, user_id.to_string());
        self.chat_of_user.insert(user_id.to_string(), chat_id);
    }

    fn unlink_user(&mut self, user_id: &str) {
        if let Some(chat_id) = self.chat_of_user.remove(user_id)
            && self.user_of_chat.get(&chat_id).is_some_and(|owner| owner == user_id)
        {
            self.user_of_chat.remove(&chat_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use vane_events::{Envelope, User};

    use super::*;

    fn event(user_id: &str, chat_id: Option<i64>, change: UserChange) -> UserEvent {
        UserEvent {
            envelope: Envelope::new(0, 0, "test"),
            change,
            user: User {
                id: user_id.to_string(),
                username: user_id.to_string(),
                chat_id,
                ..User::default()
            },
        }
    }

    #[test]
    fn a_chat_belongs_to_the_account_that_linked_it_last() {
        let mut directory = ChatDirectory::default();
        directory.apply(&event("ada", Some(7), UserChange::Registered));
        directory.apply(&event("bob", None, UserChange::Registered));
        assert_eq!(directory.user_of(7), Some("ada"));
        directory.link(7, "bob");
        assert_eq!(directory.user_of(7), Some("bob"));
        // Ada's row still names chat 7: her next settings change does not take it back.
        directory.apply(&event("ada", Some(7), UserChange::SettingsChanged));
        assert_eq!(directory.user_of(7), Some("bob"));
        directory.apply(&event("ada", Some(8), UserChange::ChatLinked));
        assert_eq!((directory.user_of(7), directory.user_of(8)), (Some("bob"), Some("ada")));
        assert_eq!(directory.len(), 2);
    }

    #[test]
    fn a_deleted_account_loses_its_chat() {
        let mut directory = ChatDirectory::default();
        directory.apply(&event("ada", Some(7), UserChange::ChatLinked));
        directory.apply(&event("ada", Some(7), UserChange::Deleted));
        assert_eq!(directory.user_of(7), None);
        assert!(directory.is_empty());
    }

    #[test]
    fn replaying_the_same_events_changes_nothing() {
        let events = [
            event("ada", Some(7), UserChange::ChatLinked),
            event("bob", Some(7), UserChange::ChatLinked),
            event("ada", Some(7), UserChange::SettingsChanged),
        ];
        let mut once = ChatDirectory::default();
        events.iter().for_each(|e| once.apply(e));
        let mut twice = once.clone();
        events.iter().for_each(|e| twice.apply(e));
        assert_eq!(once, twice);
    }
}
