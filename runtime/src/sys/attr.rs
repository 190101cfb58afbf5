//! The members of the kernel's `union bpf_attr` (include/uapi/linux/bpf.h) that scry uses, one
//! `#[repr(C)]` struct per command, with the uapi's `__aligned_u64` pointers as `u64` and
//! explicit padding fields, so `Default` zeroes every byte the kernel reads. The kernel accepts
//! an attr shorter than its own union and treats the missing tail as zero.

/// `BPF_MAP_CREATE`.
#[repr(C)]
#[derive(Default)]
pub(super) struct MapCreateAttr {
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub inner_map_fd: u32,
    pub numa_node: u32,
    pub map_name: [u8; super::OBJ_NAME_LEN],
    pub map_ifindex: u32,
}

/// `BPF_MAP_LOOKUP_ELEM`, `BPF_MAP_UPDATE_ELEM`, `BPF_MAP_DELETE_ELEM`,
/// `BPF_MAP_GET_NEXT_KEY` (`value` is `next_key` for the last).
#[repr(C)]
#[derive(Default)]
pub(super) struct MapElemAttr {
    pub map_fd: u32,
    pub pad: u32,
    pub key: u64,
    pub value: u64,
    pub flags: u64,
}

/// `BPF_MAP_LOOKUP_BATCH` and the other batch commands.
#[repr(C)]
#[derive(Default)]
pub(super) struct MapBatchAttr {
    pub in_batch: u64,
    pub out_batch: u64,
    pub keys: u64,
    pub values: u64,
    pub count: u32,
    pub map_fd: u32,
    pub elem_flags: u64,
    pub flags: u64,
}

/// `BPF_PROG_LOAD`, up to `attach_prog_fd`.
#[repr(C)]
#[derive(Default)]
pub(super) struct ProgLoadAttr {
    pub prog_type: u32,
    pub insn_cnt: u32,
    pub insns: u64,
    pub license: u64,
    pub log_level: u32,
    pub log_size: u32,
    pub log_buf: u64,
    pub kern_version: u32,
    pub prog_flags: u32,
    pub prog_name: [u8; super::OBJ_NAME_LEN],
    pub prog_ifindex: u32,
    pub expected_attach_type: u32,
    pub prog_btf_fd: u32,
    pub func_info_rec_size: u32,
    pub func_info: u64,
    pub func_info_cnt: u32,
    pub line_info_rec_size: u32,
    pub line_info: u64,
    pub line_info_cnt: u32,
    /// The BTF id of the traced kernel function (fentry/fexit).
    pub attach_btf_id: u32,
    pub attach_prog_fd: u32,
    pub pad: u32,
}

/// `BPF_RAW_TRACEPOINT_OPEN`: with no name, it attaches a tracing (fentry/fexit) program to
/// the function it was loaded for.
#[repr(C)]
#[derive(Default)]
pub(super) struct RawTracepointOpenAttr {
    pub name: u64,
    pub prog_fd: u32,
    pub pad: u32,
}

/// `BPF_PROG_TEST_RUN`.
#[repr(C)]
#[derive(Default)]
pub(super) struct TestRunAttr {
    pub prog_fd: u32,
    pub retval: u32,
    pub data_size_in: u32,
    pub data_size_out: u32,
    pub data_in: u64,
    pub data_out: u64,
    pub repeat: u32,
    pub duration: u32,
    pub ctx_size_in: u32,
    pub ctx_size_out: u32,
    pub ctx_in: u64,
    pub ctx_out: u64,
    pub flags: u32,
    pub cpu: u32,
    pub batch_size: u32,
    pub pad: u32,
}

/// `BPF_OBJ_GET_INFO_BY_FD`.
#[repr(C)]
#[derive(Default)]
pub(super) struct ObjInfoAttr {
    pub bpf_fd: u32,
    pub info_len: u32,
    pub info: u64,
}

/// `BPF_ENABLE_STATS`: `type` 0 is `BPF_STATS_RUN_TIME`.
#[repr(C)]
#[derive(Default)]
pub(super) struct EnableStatsAttr {
    pub stats_type: u32,
}

/// The head of `struct bpf_prog_info`; the kernel fills as much as `info_len` allows.
#[repr(C)]
#[derive(Default)]
pub(super) struct ProgInfo {
    pub prog_type: u32,
    pub id: u32,
    pub tag: [u8; 8],
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    /// Offsets from include/uapi/linux/bpf.h.
    #[test]
    fn layouts_match_the_uapi() {
        assert_eq!(offset_of!(MapCreateAttr, map_name), 28);
        assert_eq!(size_of::<MapCreateAttr>(), 48);
        assert_eq!(offset_of!(MapElemAttr, key), 8);
        assert_eq!(size_of::<MapElemAttr>(), 32);
        assert_eq!(offset_of!(MapBatchAttr, count), 32);
        assert_eq!(offset_of!(MapBatchAttr, elem_flags), 40);
        assert_eq!(offset_of!(ProgLoadAttr, log_buf), 32);
        assert_eq!(offset_of!(ProgLoadAttr, prog_name), 48);
        assert_eq!(offset_of!(ProgLoadAttr, expected_attach_type), 68);
        assert_eq!(offset_of!(ProgLoadAttr, attach_btf_id), 108);
        assert_eq!(size_of::<ProgLoadAttr>(), 120);
        assert_eq!(size_of::<RawTracepointOpenAttr>(), 16);
        assert_eq!(offset_of!(TestRunAttr, ctx_in), 48);
        assert_eq!(offset_of!(TestRunAttr, batch_size), 72);
        assert_eq!(size_of::<TestRunAttr>(), 80);
        assert_eq!(size_of::<ObjInfoAttr>(), 16);
    }
}
