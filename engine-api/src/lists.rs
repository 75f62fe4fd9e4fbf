//! Growing a list that another thread may have allocated.

/// Makes room for one more item in `list`: if it is full, moves its items into a new
/// allocation with room for `extra` more (at least one) and frees the old one; a list
/// with room is left alone.
///
/// Not `Vec::reserve`, which reallocates: the system allocator (glibc's) locks the
/// arena a block came from to reallocate it, so writer threads growing lists that
/// another thread allocated (the adjacency lists of a graph one thread imported) all
/// locked that thread's arena, and two writer threads waited for each other at most
/// writes. A new allocation comes from the writer's own arena; the freed block mostly
/// goes to the writer's per-thread cache.
pub fn make_room<T: Copy>(list: &mut Vec<T>, extra: usize) {
    if list.len() == list.capacity() {
        let mut grown = Vec::with_capacity(list.len() + extra.max(1));
        grown.extend_from_slice(list);
        *list = grown;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_list_moves_whole_into_room_and_one_with_room_stays() {
        let mut list: Vec<u32> = Vec::new();
        make_room(&mut list, 0);
        assert_eq!(list.capacity(), 1, "at least one more");
        for n in 0..100u32 {
            let before = (list.as_ptr(), list.capacity());
            let full = list.len() == list.capacity();
            let quarter = (list.len() / 4).max(2);
            make_room(&mut list, quarter);
            assert!(list.capacity() > list.len());
            if full {
                assert_eq!(list.capacity(), before.1 + (before.1 / 4).max(2));
            } else {
                assert_eq!(
                    (list.as_ptr(), list.capacity()),
                    before,
                    "moved with room left"
                );
            }
            list.push(n);
            assert_eq!(list, (0..=n).collect::<Vec<_>>());
        }
    }
}
