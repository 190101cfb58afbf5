//! [`Writer`]: the buffer a hook writes its result into.

use alloc::vec::Vec;

use crate::read::Tagged;

/// A growable byte buffer: the binary layouts (`u32`, `i64`, `str`) and text (it implements
/// `core::fmt::Write`, so `write!(out, ...)` works), with JSON and key helpers. Numbers in
/// decimal ([`Writer::dec`], [`Writer::udec`]) need no `core::fmt`: a plugin that avoids
/// `write!` and `format!` is smaller, and compiles faster when scry loads it.
#[derive(Default)]
pub struct Writer {
    /// What was written so far.
    pub bytes: Vec<u8>,
}

impl Writer {
    /// Appends raw bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.bytes.extend_from_slice(b);
    }

    /// Appends text.
    pub fn text(&mut self, s: &str) {
        self.bytes.extend_from_slice(s.as_bytes());
    }

    /// Appends a little-endian `u32`.
    pub fn u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    /// Appends a little-endian `i64`.
    pub fn i64(&mut self, v: i64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    /// Appends a little-endian `u64`.
    pub fn u64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }

    /// Appends `v` in decimal, as `{}` prints it.
    pub fn dec(&mut self, v: i64) {
        if v < 0 {
            self.bytes.push(b'-');
        }
        self.udec(v.unsigned_abs());
    }

    /// Appends `v` in decimal, as `{}` prints it.
    pub fn udec(&mut self, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.bytes.extend_from_slice(&digits[start..]);
    }

    /// Appends the `str` layout: `u32` length, then the bytes.
    pub fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.text(s);
    }

    /// Appends a JSON string literal, quotes included.
    pub fn json_str(&mut self, s: &str) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.bytes.push(b'"');
        for &c in s.as_bytes() {
            match c {
                b'"' | b'\\' => self.bytes.extend_from_slice(&[b'\\', c]),
                b'\n' => self.text("\\n"),
                b'\t' => self.text("\\t"),
                b'\r' => self.text("\\r"),
                0..=0x1f => self.bytes.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(c >> 4) as usize],
                    HEX[(c & 15) as usize],
                ]),
                _ => self.bytes.push(c),
            }
        }
        self.bytes.push(b'"');
    }

    /// Appends a value as scry prints it in text: numbers in decimal, strings as they are,
    /// tuples as `(a, b)`.
    pub fn tagged_text(&mut self, t: &Tagged) {
        match t {
            Tagged::I64(v) => self.dec(*v),
            Tagged::U64(v) => self.udec(*v),
            Tagged::Str(s) => self.text(s),
            Tagged::Tuple(items) => {
                self.bytes.push(b'(');
                self.list(items, Self::tagged_text);
                self.bytes.push(b')');
            }
        }
    }

    /// Appends a value as JSON: numbers, strings, tuples as arrays.
    pub fn tagged_json(&mut self, t: &Tagged) {
        match t {
            Tagged::I64(v) => self.dec(*v),
            Tagged::U64(v) => self.udec(*v),
            Tagged::Str(s) => self.json_str(s),
            Tagged::Tuple(items) => {
                self.bytes.push(b'[');
                self.list(items, Self::tagged_json);
                self.bytes.push(b']');
            }
        }
    }

    /// Appends a key's parts as scry prints them between the brackets of `@m[...]`: `a, b`.
    pub fn key_text(&mut self, key: &[Tagged]) {
        self.list(key, Self::tagged_text);
    }

    fn list(&mut self, items: &[Tagged], each: fn(&mut Self, &Tagged)) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.text(", ");
            }
            each(self, item);
        }
    }
}

impl core::fmt::Write for Writer {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.text(s);
        Ok(())
    }
}
