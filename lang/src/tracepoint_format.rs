//! Parsing of tracefs `events/CATEGORY/EVENT/format` files.

/// What a tracepoint record holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TracepointFormat {
    /// The event id (`ID:` line), which is also the record's `common_type`.
    pub id: Option<u32>,
    /// Fields after the `common_*` header, in record order.
    pub fields: Vec<TracepointField>,
}

/// One field of a tracepoint record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracepointField {
    pub name: String,
    /// The C type as declared, without the name or array suffix (`const char *`).
    pub c_type: String,
    pub offset: u32,
    pub size: u32,
    pub signed: bool,
    pub shape: FieldShape,
}

/// How a field's bytes are to be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldShape {
    /// An integer of `size` bytes.
    Integer,
    /// A pointer (8 bytes); `char *` pointers are strings to `str()`.
    Pointer,
    /// A fixed array of `len` elements (`char comm[16]`).
    Array { len: u32 },
    /// `__data_loc`: a u32 holding (length << 16 | offset) of data inside the record.
    DataLoc,
}

impl TracepointField {
    /// The declaration as `-lv` prints it: `const char * filename`, `char comm[16]`.
    pub fn declaration(&self) -> String {
        match self.shape {
            FieldShape::Array { len } => format!("{} {}[{len}]", self.c_type, self.name),
            FieldShape::DataLoc => format!("__data_loc {}[] {}", self.c_type, self.name),
            _ => format!("{} {}", self.c_type, self.name),
        }
    }
}

/// Parses the text of a format file. Lines that do not look like fields are skipped.
pub fn parse_format(text: &str) -> TracepointFormat {
    let mut out = TracepointFormat::default();
    for line in text.lines() {
        let line = line.trim();
        if let Some(id) = line.strip_prefix("ID:") {
            out.id = id.trim().parse().ok();
            continue;
        }
        let Some(rest) = line.strip_prefix("field:") else {
            continue;
        };
        if let Some(f) = parse_field(rest) {
            if !f.name.starts_with("common_") {
                out.fields.push(f);
            }
        }
    }
    out
}

fn parse_field(rest: &str) -> Option<TracepointField> {
    let mut parts = rest.split(';').map(str::trim);
    let decl = parts.next()?;
    let mut offset = None;
    let mut size = None;
    let mut signed = false;
    for p in parts {
        if let Some(v) = p.strip_prefix("offset:") {
            offset = v.parse().ok();
        } else if let Some(v) = p.strip_prefix("size:") {
            size = v.parse().ok();
        } else if let Some(v) = p.strip_prefix("signed:") {
            signed = v == "1";
        }
    }
    let (data_loc, decl) = match decl.strip_prefix("__data_loc ") {
        Some(d) => (true, d.trim()),
        None => (false, decl),
    };
    let (decl, array) = match decl.strip_suffix(']') {
        Some(d) => {
            let open = d.rfind('[')?;
            (d[..open].trim(), Some(d[open + 1..].trim()))
        }
        None => (decl, None),
    };
    let name_start = crate::lexer::trailing_word_start(decl);
    let name = decl[name_start..].to_string();
    let c_type = decl[..name_start].trim().to_string();
    if name.is_empty() {
        return None;
    }
    let (c_type, name, array) = if data_loc {
        // `__data_loc char[] name`: the brackets sit on the type.
        let c_type = c_type.trim_end_matches("[]").trim().to_string();
        (c_type, name, None)
    } else {
        (c_type, name, array)
    };
    let shape = if data_loc {
        FieldShape::DataLoc
    } else if let Some(len) = array {
        FieldShape::Array {
            len: len.parse().unwrap_or(0),
        }
    } else if c_type.ends_with('*') {
        FieldShape::Pointer
    } else {
        FieldShape::Integer
    };
    Some(TracepointField {
        name,
        c_type,
        offset: offset?,
        size: size?,
        signed,
        shape,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENAT: &str = "name: sys_enter_openat\nID: 700\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\
\tfield:__data_loc char[] name;\toffset:32;\tsize:4;\tsigned:0;\n\
\tfield:char comm[16];\toffset:36;\tsize:16;\tsigned:0;\n\nprint fmt: \"x\"\n";

    #[test]
    fn parses_fields() {
        let f = parse_format(OPENAT);
        assert_eq!(f.id, Some(700));
        let names: Vec<_> = f.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["__syscall_nr", "dfd", "filename", "name", "comm"]);
        assert_eq!(f.fields[2].c_type, "const char *");
        assert_eq!(f.fields[2].shape, FieldShape::Pointer);
        assert_eq!(f.fields[3].shape, FieldShape::DataLoc);
        assert_eq!(f.fields[3].c_type, "char");
        assert_eq!(f.fields[4].shape, FieldShape::Array { len: 16 });
        assert_eq!(f.fields[4].declaration(), "char comm[16]");
        assert_eq!(f.fields[1].offset, 16);
        assert!(f.fields[0].signed);
    }
}
