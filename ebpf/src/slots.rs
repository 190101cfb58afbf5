//! A list whose items keep the index they were given for ever and can be removed one by one:
//! an index is never given twice, and a removed item takes no room.
//!
//! The object's programs, probe blocks and actions are such lists. Their indexes are ids that
//! live code and records carry (an action id is the first u64 of every record), so a session
//! that adds and removes entries for hours must neither move them nor keep what it removed:
//! a record whose action was removed finds nothing and is dropped, never decoded with another
//! action's layout.

use std::collections::BTreeMap;
use std::ops::{Index, IndexMut, Range};

/// Items by index; indexes grow from 0 and are never reused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slots<T> {
    items: BTreeMap<usize, T>,
    /// The index the next item gets.
    end: usize,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            items: BTreeMap::new(),
            end: 0,
        }
    }
}

impl<T> Slots<T> {
    /// Adds `item` after every index given so far; returns its index.
    pub fn push(&mut self, item: T) -> usize {
        let id = self.end;
        self.items.insert(id, item);
        self.end += 1;
        id
    }

    /// Puts `item` at index `id`, which must not have been given yet; the next push comes
    /// after it.
    pub fn insert(&mut self, id: usize, item: T) {
        debug_assert!(id >= self.end, "index {id} was given already");
        self.items.insert(id, item);
        self.end = self.end.max(id + 1);
    }

    /// The index the next item gets: one past every index given so far.
    pub fn end(&self) -> usize {
        self.end
    }

    /// How many items are held (removed ones are not).
    pub fn count(&self) -> usize {
        self.items.len()
    }

    /// Whether no item is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The item at `id`, unless it was never given or was removed.
    pub fn get(&self, id: usize) -> Option<&T> {
        self.items.get(&id)
    }

    /// The item at `id`, mutably.
    pub fn get_mut(&mut self, id: usize) -> Option<&mut T> {
        self.items.get_mut(&id)
    }

    /// Whether an item is held at `id`.
    pub fn contains(&self, id: usize) -> bool {
        self.items.contains_key(&id)
    }

    /// Removes the item at `id` for good (its index is not given again).
    pub fn remove(&mut self, id: usize) -> Option<T> {
        self.items.remove(&id)
    }

    /// The items held with their indexes, in index order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (usize, &T)> {
        self.items.iter().map(|(i, t)| (*i, t))
    }

    /// The items held, in index order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.items.values()
    }

    /// The items held, mutable, in index order.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut T> {
        self.items.values_mut()
    }

    /// The items held whose indexes are in `range`, with their indexes.
    pub fn range(&self, range: Range<usize>) -> impl DoubleEndedIterator<Item = (usize, &T)> {
        self.items.range(range).map(|(i, t)| (*i, t))
    }

    /// Takes out the items from index `at` on, as a list that continues this one (its items
    /// keep their indexes); this one ends at `at`.
    pub fn split_off(&mut self, at: usize) -> Slots<T> {
        let items = self.items.split_off(&at);
        let end = self.end.max(at);
        self.end = at;
        Slots { items, end }
    }

    /// Puts back a list that [`Slots::split_off`] took out at this one's end.
    pub fn append(&mut self, mut tail: Slots<T>) {
        debug_assert!(
            tail.items.keys().next().is_none_or(|&i| i >= self.end),
            "the tail overlaps the list"
        );
        self.items.append(&mut tail.items);
        self.end = self.end.max(tail.end);
    }

    /// Drops the items from index `at` on; the next push gets `at` again.
    pub fn truncate(&mut self, at: usize) {
        drop(self.split_off(at));
    }
}

impl<T> FromIterator<T> for Slots<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut slots = Slots::default();
        for item in iter {
            slots.push(item);
        }
        slots
    }
}

impl<T> Index<usize> for Slots<T> {
    type Output = T;

    fn index(&self, id: usize) -> &T {
        match self.items.get(&id) {
            Some(t) => t,
            None => panic!("no item at index {id} (of {})", self.end),
        }
    }
}

impl<T> IndexMut<usize> for Slots<T> {
    fn index_mut(&mut self, id: usize) -> &mut T {
        let end = self.end;
        match self.items.get_mut(&id) {
            Some(t) => t,
            None => panic!("no item at index {id} (of {end})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_are_kept_and_never_given_twice() {
        let mut s: Slots<&str> = ["a", "b", "c"].into_iter().collect();
        assert_eq!(s.remove(1), Some("b"));
        assert_eq!(s.push("d"), 3);
        assert_eq!(s[2], "c");
        assert_eq!(s.get(1), None);
        assert_eq!(s.count(), 3);
        assert_eq!(s.iter().map(|(i, _)| i).collect::<Vec<_>>(), [0, 2, 3]);
    }

    #[test]
    fn split_off_and_append_keep_indexes() {
        let mut s: Slots<u8> = [1, 2, 3].into_iter().collect();
        s.remove(2);
        let mut tail = s.split_off(2);
        assert_eq!((s.end(), tail.end()), (2, 3));
        assert_eq!(tail.push(4), 3);
        s.append(tail);
        assert_eq!(s.iter().collect::<Vec<_>>(), [(0, &1), (1, &2), (3, &4)]);
        s.truncate(1);
        assert_eq!((s.end(), s.count()), (1, 1));
    }
}
