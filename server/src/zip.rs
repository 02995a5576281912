//! A ZIP archive written as it is sent: entries are stored (not compressed: what people share
//! is mostly compressed already, and a stored entry streams at disk speed), each file's CRC-32
//! follows its bytes in a data descriptor, and the central directory comes last. Nothing is
//! buffered but the central directory (a few dozen bytes per entry). ZIP64 records are written
//! where a size, an offset or the count of entries needs them (4 GiB, 65,535 entries), and only
//! there, so small archives stay readable by the oldest tools.
//!
//! (async_zip 0.0.19, the crate for this, writes 32-bit sizes in ZIP64 data descriptors,
//! which readers that follow the local headers, like Java's or libarchive's streaming ones,
//! read wrong. The format is small; it is written here from APPNOTE 6.3.)
//!
//! Use: [`Writer::begin`] gives an entry's local header, its bytes follow through
//! [`Writer::data`], [`Writer::end`] gives its data descriptor, and [`Writer::finish`] the
//! central directory and end records. Each returns the bytes to send, in order.

use bytes::{BufMut, Bytes, BytesMut};

/// What does not fit 16 or 32 bits is written as this, with its value in a ZIP64 record.
const U16_FULL: u16 = u16::MAX;
const U32_FULL: u32 = u32::MAX;

/// Version needed to extract: 2.0 for stored entries with data descriptors, 4.5 for ZIP64.
const V20: u16 = 20;
const V45: u16 = 45;
/// Made by: Unix (3), version 4.5; external attributes then hold the file mode.
const MADE_BY: u16 = (3 << 8) | V45;
/// General purpose flags: the CRC and sizes follow the data (bit 3); names are UTF-8 (bit 11).
const FLAGS: u16 = (1 << 3) | (1 << 11);
/// A regular file, rw-r--r--.
const FILE_MODE: u32 = 0o100_644;

/// An archive being written.
#[derive(Default)]
pub struct Writer {
    /// Bytes given out so far.
    offset: u64,
    /// What the central directory will say of each entry so far.
    done: Vec<Entry>,
    /// The entry whose bytes are being written.
    open: Option<Open>,
}

struct Entry {
    name: String,
    crc: u32,
    size: u64,
    header_at: u64,
    dos_time: u16,
    dos_date: u16,
}

struct Open {
    entry: Entry,
    /// The size its header announced (its data descriptor is ZIP64 when that needs it).
    expected: u64,
    hasher: crc32fast::Hasher,
    written: u64,
}

/// The archive cannot be written on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An entry's bytes were not as many as announced (the object changed while being read).
    #[error("`{name}` had {written} bytes, not the {expected} announced")]
    Size {
        name: String,
        expected: u64,
        written: u64,
    },
    /// [`Writer::begin`] while an entry is open, [`Writer::data`] or [`Writer::end`] with none.
    #[error("entries are written one at a time")]
    Order,
    /// A name longer than 65,535 bytes.
    #[error("a name of {0} bytes is too long for a ZIP archive")]
    Name(usize),
}

impl Writer {
    /// The local header of a file `name` of `size` bytes, modified at `modified` (Unix seconds,
    /// UTC); its bytes follow.
    pub fn begin(&mut self, name: &str, size: u64, modified: i64) -> Result<Bytes, Error> {
        if self.open.is_some() {
            return Err(Error::Order);
        }
        let name_len = u16::try_from(name.len()).map_err(|_| Error::Name(name.len()))?;
        let (dos_time, dos_date) = dos_time(modified);
        let zip64 = size >= u64::from(U32_FULL);
        let mut out = BytesMut::with_capacity(30 + name.len() + 20);
        out.put_u32_le(0x0403_4b50);
        out.put_u16_le(if zip64 { V45 } else { V20 });
        out.put_u16_le(FLAGS);
        out.put_u16_le(0); // stored
        out.put_u16_le(dos_time);
        out.put_u16_le(dos_date);
        out.put_u32_le(0); // CRC-32: in the data descriptor
        if zip64 {
            // The sizes are in the ZIP64 field; its presence tells a reader that follows the
            // local headers that the data descriptor's sizes are 64-bit.
            out.put_u32_le(U32_FULL);
            out.put_u32_le(U32_FULL);
        } else {
            out.put_u32_le(0);
            out.put_u32_le(0);
        }
        out.put_u16_le(name_len);
        out.put_u16_le(if zip64 { 20 } else { 0 });
        out.put_slice(name.as_bytes());
        if zip64 {
            out.put_u16_le(0x0001);
            out.put_u16_le(16);
            out.put_u64_le(size);
            out.put_u64_le(size);
        }
        let entry = Entry {
            name: name.to_owned(),
            crc: 0,
            size,
            header_at: self.offset,
            dos_time,
            dos_date,
        };
        self.offset += out.len() as u64;
        self.open = Some(Open {
            entry,
            expected: size,
            hasher: crc32fast::Hasher::new(),
            written: 0,
        });
        Ok(out.freeze())
    }

    /// Notes bytes of the open entry, which the caller sends as they are.
    pub fn data(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let open = self.open.as_mut().ok_or(Error::Order)?;
        open.hasher.update(bytes);
        open.written += bytes.len() as u64;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// The data descriptor that ends the open entry: its CRC-32 and sizes.
    pub fn end(&mut self) -> Result<Bytes, Error> {
        let open = self.open.take().ok_or(Error::Order)?;
        if open.written != open.expected {
            return Err(Error::Size {
                name: open.entry.name,
                expected: open.expected,
                written: open.written,
            });
        }
        let mut entry = open.entry;
        entry.crc = open.hasher.finalize();
        let mut out = BytesMut::with_capacity(24);
        out.put_u32_le(0x0807_4b50);
        out.put_u32_le(entry.crc);
        if entry.size >= u64::from(U32_FULL) {
            out.put_u64_le(entry.size);
            out.put_u64_le(entry.size);
        } else {
            out.put_u32_le(entry.size as u32);
            out.put_u32_le(entry.size as u32);
        }
        self.offset += out.len() as u64;
        self.done.push(entry);
        Ok(out.freeze())
    }

    /// The central directory and the end records: the archive's last bytes.
    pub fn finish(self) -> Result<Bytes, Error> {
        if self.open.is_some() {
            return Err(Error::Order);
        }
        let directory_at = self.offset;
        let mut out = BytesMut::new();
        for entry in &self.done {
            let big_size = entry.size >= u64::from(U32_FULL);
            let big_offset = entry.header_at >= u64::from(U32_FULL);
            let mut extra = BytesMut::new();
            if big_size || big_offset {
                let mut fields = BytesMut::new();
                if big_size {
                    fields.put_u64_le(entry.size); // uncompressed
                    fields.put_u64_le(entry.size); // compressed
                }
                if big_offset {
                    fields.put_u64_le(entry.header_at);
                }
                extra.put_u16_le(0x0001);
                extra.put_u16_le(fields.len() as u16);
                extra.put_slice(&fields);
            }
            let size32 = if big_size {
                U32_FULL
            } else {
                entry.size as u32
            };
            out.put_u32_le(0x0201_4b50);
            out.put_u16_le(MADE_BY);
            out.put_u16_le(if big_size || big_offset { V45 } else { V20 });
            out.put_u16_le(FLAGS);
            out.put_u16_le(0);
            out.put_u16_le(entry.dos_time);
            out.put_u16_le(entry.dos_date);
            out.put_u32_le(entry.crc);
            out.put_u32_le(size32);
            out.put_u32_le(size32);
            out.put_u16_le(entry.name.len() as u16);
            out.put_u16_le(extra.len() as u16);
            out.put_u16_le(0); // comment
            out.put_u16_le(0); // disk
            out.put_u16_le(0); // internal attributes
            out.put_u32_le(FILE_MODE << 16);
            out.put_u32_le(if big_offset {
                U32_FULL
            } else {
                entry.header_at as u32
            });
            out.put_slice(entry.name.as_bytes());
            out.put_slice(&extra);
        }
        let directory_size = out.len() as u64;
        let count = self.done.len() as u64;
        let zip64 = count >= u64::from(U16_FULL)
            || directory_at >= u64::from(U32_FULL)
            || directory_size >= u64::from(U32_FULL);
        if zip64 {
            let record_at = directory_at + directory_size;
            out.put_u32_le(0x0606_4b50);
            out.put_u64_le(44); // the record's size after this field
            out.put_u16_le(MADE_BY);
            out.put_u16_le(V45);
            out.put_u32_le(0); // this disk
            out.put_u32_le(0); // the directory's disk
            out.put_u64_le(count);
            out.put_u64_le(count);
            out.put_u64_le(directory_size);
            out.put_u64_le(directory_at);
            // Its locator.
            out.put_u32_le(0x0706_4b50);
            out.put_u32_le(0);
            out.put_u64_le(record_at);
            out.put_u32_le(1);
        }
        let count16 = u16::try_from(count).unwrap_or(U16_FULL);
        out.put_u32_le(0x0605_4b50);
        out.put_u16_le(0);
        out.put_u16_le(0);
        out.put_u16_le(count16);
        out.put_u16_le(count16);
        out.put_u32_le(u32::try_from(directory_size).unwrap_or(U32_FULL));
        out.put_u32_le(u32::try_from(directory_at).unwrap_or(U32_FULL));
        out.put_u16_le(0); // comment
        Ok(out.freeze())
    }
}

/// MS-DOS time and date of Unix seconds (UTC), clamped to what they can say (1980–2107).
fn dos_time(unix: i64) -> (u16, u16) {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(unix) else {
        return (0, (1 << 5) | 1);
    };
    let year = t.year().clamp(1980, 2107);
    if year != t.year() {
        // 1980-01-01 00:00 or 2107-12-31 23:59:58.
        return if t.year() < 1980 {
            (0, (1 << 5) | 1)
        } else {
            ((23 << 11) | (59 << 5) | 29, ((127) << 9) | (12 << 5) | 31)
        };
    }
    let time =
        (u16::from(t.hour()) << 11) | (u16::from(t.minute()) << 5) | u16::from(t.second() / 2);
    let date =
        (((year - 1980) as u16) << 9) | (u16::from(u8::from(t.month())) << 5) | u16::from(t.day());
    (time, date)
}

/// The name an object is given in an archive of the folder `prefix`: its key after the prefix,
/// with nothing that leads out of the archive's root or is read as a path by an unpacker:
/// empty and `.` segments are dropped; a segment of only dots and spaces (`..`, `...`, `.. `,
/// which Windows reads as `..`) becomes `_`; backslashes (a separator on Windows), control and
/// bidirectional-text characters become `_`; a drive (`C:`, `C:name`) loses its colon. `None`
/// when nothing is left (a key that is only the prefix, or only slashes and dots).
pub fn entry_name(key: &str, prefix: &str) -> Option<String> {
    let rel = key.strip_prefix(prefix)?;
    let segments: Vec<String> = rel
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .map(|s| {
            if s.trim_end_matches(['.', ' ']).is_empty() {
                return "_".to_owned();
            }
            s.chars()
                .map(|c| {
                    if c == '\\' || c.is_control() || is_bidi(c) {
                        '_'
                    } else {
                        c
                    }
                })
                .collect()
        })
        .collect();
    let mut name = segments.join("/");
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        name.replace_range(1..2, "_");
    }
    (!name.is_empty()).then_some(name)
}

/// Characters that reorder the text around them (`U+202E` shows `gnp.exe` as `exe.png`).
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_the_archive() {
        let name = |key: &str| entry_name(key, "share/");
        assert_eq!(name("share/a/b.txt").as_deref(), Some("a/b.txt"));
        assert_eq!(name("share/../x").as_deref(), Some("_/x"));
        assert_eq!(name("share/a/../../x").as_deref(), Some("a/_/_/x"));
        assert_eq!(name("share//etc/passwd").as_deref(), Some("etc/passwd"));
        assert_eq!(name("share/./a").as_deref(), Some("a"));
        assert_eq!(name("share/..\\..\\x").as_deref(), Some(".._.._x"));
        assert_eq!(name("share/C:/x").as_deref(), Some("C_/x"));
        assert_eq!(name("share/C:evil").as_deref(), Some("C_evil"));
        assert_eq!(name("share/.. /x").as_deref(), Some("_/x"));
        assert_eq!(name("share/.../x").as_deref(), Some("_/x"));
        assert_eq!(name("share/a/..").as_deref(), Some("a/_"));
        assert_eq!(name("share/\u{202E}gnp.exe").as_deref(), Some("_gnp.exe"));
        assert_eq!(
            name("share/10:30 notes.txt").as_deref(),
            Some("10:30 notes.txt")
        );
        assert_eq!(name("share/a\nb").as_deref(), Some("a_b"));
        assert_eq!(
            name("share/ünïcode ✓.txt").as_deref(),
            Some("ünïcode ✓.txt")
        );
        assert_eq!(name("share/"), None);
        assert_eq!(name("share/../"), Some("_".to_owned()));
        assert_eq!(name("share/./"), None);
        assert_eq!(name("other/x"), None);
    }

    #[test]
    fn dos_times_are_clamped() {
        assert_eq!(dos_time(0), (0, (1 << 5) | 1));
        // 2026-11-30 16:54:22 UTC.
        let (time, date) = dos_time(1_796_057_662);
        assert_eq!(
            (time >> 11, (time >> 5) & 63, (time & 31) * 2),
            (16, 54, 22)
        );
        assert_eq!((date >> 9) + 1980, 2026);
        assert_eq!(((date >> 5) & 15, date & 31), (11, 30));
    }

    /// An archive written here, as bytes.
    fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = Writer::default();
        let mut out = Vec::new();
        for (name, bytes) in files {
            out.extend_from_slice(&zip.begin(name, bytes.len() as u64, 1_796_057_662).unwrap());
            zip.data(bytes).unwrap();
            out.extend_from_slice(bytes);
            out.extend_from_slice(&zip.end().unwrap());
        }
        out.extend_from_slice(&zip.finish().unwrap());
        out
    }

    #[test]
    fn another_reader_reads_back_names_and_bytes() {
        let files: [(&str, &[u8]); 3] = [
            ("a.txt", b"hello"),
            ("dir/ünï ✓.bin", &[0, 1, 2, 255]),
            ("empty", b""),
        ];
        let bytes = archive(&files);
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(zip.len(), 3);
        for (i, (name, data)) in files.iter().enumerate() {
            let mut file = zip.by_index(i).unwrap();
            assert_eq!(file.name(), *name);
            let mut read = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut read).unwrap();
            assert_eq!(&read, data);
        }
    }

    #[test]
    fn more_than_65535_entries_take_zip64_end_records() {
        let names: Vec<String> = (0..70_000).map(|i| format!("f{i}")).collect();
        let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
        let bytes = archive(&files);
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(zip.len(), 70_000);
        let mut last = zip.by_name("f69999").unwrap();
        let mut read = Vec::new();
        std::io::Read::read_to_end(&mut last, &mut read).unwrap();
        assert_eq!(read, b"x");
    }

    /// An archive's bytes with long runs of zeros not held in memory.
    #[derive(Default)]
    struct Sparse {
        /// Each piece: where it starts, and its bytes (`None`: that many zeros).
        pieces: Vec<(u64, u64, Option<Bytes>)>,
        len: u64,
        at: u64,
    }

    impl Sparse {
        fn push(&mut self, bytes: Bytes) {
            let n = bytes.len() as u64;
            self.pieces.push((self.len, n, Some(bytes)));
            self.len += n;
        }
        fn zeros(&mut self, n: u64) {
            self.pieces.push((self.len, n, None));
            self.len += n;
        }
    }

    impl std::io::Read for Sparse {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some((start, n, bytes)) = self
                .pieces
                .iter()
                .find(|(start, n, _)| (*start..start + n).contains(&self.at))
            else {
                return Ok(0);
            };
            let from = self.at - start;
            let take = (buf.len() as u64).min(n - from) as usize;
            match bytes {
                Some(bytes) => buf[..take].copy_from_slice(&bytes[from as usize..][..take]),
                None => buf[..take].fill(0),
            }
            self.at += take as u64;
            Ok(take)
        }
    }

    impl std::io::Seek for Sparse {
        fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
            self.at = match to {
                std::io::SeekFrom::Start(n) => n,
                std::io::SeekFrom::End(d) => self.len.saturating_add_signed(d),
                std::io::SeekFrom::Current(d) => self.at.saturating_add_signed(d),
            };
            Ok(self.at)
        }
    }

    #[test]
    fn files_past_4_gib_and_entries_after_them_take_zip64_fields() {
        let big = (4u64 << 30) + 3;
        let mut zip = Writer::default();
        let mut out = Sparse::default();
        out.push(zip.begin("big.bin", big, 0).unwrap());
        let zeros = vec![0u8; 1 << 20];
        let mut left = big;
        while left > 0 {
            let n = left.min(zeros.len() as u64);
            zip.data(&zeros[..n as usize]).unwrap();
            left -= n;
        }
        out.zeros(big);
        out.push(zip.end().unwrap());
        out.push(zip.begin("after.txt", 2, 0).unwrap());
        zip.data(b"ok").unwrap();
        out.push(Bytes::from_static(b"ok"));
        out.push(zip.end().unwrap());
        out.push(zip.finish().unwrap());
        let mut zip = zip::ZipArchive::new(out).unwrap();
        assert_eq!(zip.by_index_raw(0).unwrap().size(), big);
        assert_eq!(zip.by_index_raw(0).unwrap().crc32(), {
            let mut h = crc32fast::Hasher::new();
            let mut left = big;
            while left > 0 {
                let n = left.min(zeros.len() as u64);
                h.update(&zeros[..n as usize]);
                left -= n;
            }
            h.finalize()
        });
        let mut after = zip.by_name("after.txt").unwrap();
        let mut read = Vec::new();
        std::io::Read::read_to_end(&mut after, &mut read).unwrap();
        assert_eq!(read, b"ok");
    }

    #[test]
    fn an_entry_with_other_than_its_announced_size_fails() {
        let mut zip = Writer::default();
        zip.begin("a", 3, 0).unwrap();
        zip.data(b"ab").unwrap();
        assert!(matches!(zip.end(), Err(Error::Size { written: 2, .. })));
        let mut zip = Writer::default();
        zip.begin("a", 1, 0).unwrap();
        assert!(matches!(zip.begin("b", 1, 0), Err(Error::Order)));
        assert!(matches!(zip.finish(), Err(Error::Order)));
    }
}
