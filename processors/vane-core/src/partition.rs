//! Which partition a key goes to.
//!
//! Both log backends use this one function, so that a key lands on the same partition whether
//! vane runs embedded or on Kafka. It is Kafka's default partitioner for keyed records (murmur2 of
//! the key bytes, sign bit cleared, modulo the partition count), so records that vane writes and
//! records that a Java or Kafka Streams producer writes with the same key agree.

/// Kafka's murmur2 (seed `0x9747b28c`), as its Java client computes it.
pub fn murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len() as u32;
    let mut h: u32 = 0x9747_b28c ^ length;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut word = [0u8; 4];
        word.copy_from_slice(chunk);
        let mut k = u32::from_le_bytes(word);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if let Some(third) = tail.get(2) {
        h ^= u32::from(*third) << 16;
    }
    if let Some(second) = tail.get(1) {
        h ^= u32::from(*second) << 8;
    }
    if let Some(first) = tail.first() {
        h ^= u32::from(*first);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

/// The partition of `key` among `partitions` (at least 1).
pub fn partition_for(key: &[u8], partitions: u32) -> u32 {
    (murmur2(key) & 0x7fff_ffff) % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_kafka_java_client() {
        // Reference values printed by org.apache.kafka.common.utils.Utils.murmur2 (as i32).
        assert_eq!(murmur2(b"21") as i32, -973_932_308);
        assert_eq!(murmur2(b"foobar") as i32, -790_332_482);
        assert_eq!(murmur2(b"a-little-bit-long-string") as i32, -985_981_536);
        assert_eq!(murmur2(b"a-little-bit-longer-string") as i32, -1_486_304_829);
        assert_eq!(murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") as i32, -58_897_971);
        assert_eq!(murmur2(b"abc") as i32, 479_470_107);
    }

    #[test]
    fn partitions_stay_in_range() {
        for n in 1..20u32 {
            for key in ["a", "series-1", "", "ßñ"] {
                assert!(partition_for(key.as_bytes(), n) < n);
            }
        }
        assert_eq!(partition_for(b"x", 0), 0);
    }
}
