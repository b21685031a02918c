//! glibc `malloc` settings for training loops, and the binary's allocator: the system's, with
//! transparent huge pages asked for on the largest blocks.

/// Tunes glibc's `malloc` for training loops: allocations up to 32 MiB come from its heap
/// (`M_MMAP_THRESHOLD`, glibc's largest allowed value) and freed memory stays there
/// (`M_TRIM_THRESHOLD` 1 GiB) instead of going back to the OS.
///
/// A training step frees and re-allocates the same activation and gradient buffers every step.
/// By default glibc maps buffers of more than 128 KiB–32 MiB straight from the OS and unmaps
/// them on free, so every step pays one page fault per 4 KiB page it writes. On the sparse text
/// classifier (`stoke bench train --data synthetic`) this call took AdaGrad from ≈ 28,500 to
/// ≈ 52,000 examples/s on one thread. Call it once, early; `main` does. Returns whether it
/// applied (only on Linux with glibc).
pub fn tune_allocator() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator parameters; both values are in range.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// The smallest block [`HugePages`] asks huge pages for: 32 MiB, the largest `M_MMAP_THRESHOLD`
/// ([`tune_allocator`]), so every such block is a mapping of its own and the advice never splits
/// the heap's mapping.
pub const HUGE_BLOCK: usize = 32 << 20;

/// The system allocator, plus `madvise(MADV_HUGEPAGE)` on every block of [`HUGE_BLOCK`] bytes or
/// more (on Linux with glibc; elsewhere exactly the system allocator).
///
/// A default `stoke train` on short texts keeps an embedding table of 2^20 rows × 128 (512 MiB)
/// and as much again for each of Adam's moments, and Burn copies a tensor whole when it zeroes a
/// new one and when it reads one out to save it. Each such block arrives as fresh pages from the
/// kernel, and each 4 KiB page costs one page fault and one clearing on its first write: `perf`
/// put 21% of a two-epoch run on `words` in the faults and clearing of such copies. On kernels
/// whose transparent huge pages are `madvise` (the usual default), this advice makes the kernel
/// map such blocks in 2 MiB pages, one fault per 512 small ones: the two-epoch `words` run took
/// 17.3 s instead of 20.6 s (glibc's `glibc.malloc.hugetlb=1`, which does the same, measured the
/// same way). The values computed do not change.
pub struct HugePages;

// SAFETY: every call is forwarded to `System` with the caller's arguments; the only addition is
// advice on memory that the block just returned owns, which changes no byte of it.
unsafe impl std::alloc::GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        let block = unsafe { std::alloc::System.alloc(layout) };
        advise_huge(block, layout.size());
        block
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let block = unsafe { std::alloc::System.alloc_zeroed(layout) };
        advise_huge(block, layout.size());
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: `block` came from `System` through this allocator, with this layout.
        unsafe { std::alloc::System.dealloc(block, layout) }
    }

    unsafe fn realloc(
        &self,
        block: *mut u8,
        layout: std::alloc::Layout,
        new_size: usize,
    ) -> *mut u8 {
        // SAFETY: as for `dealloc`, and the caller's contract for `realloc`.
        let moved = unsafe { std::alloc::System.realloc(block, layout, new_size) };
        advise_huge(moved, new_size);
        moved
    }
}

/// Asks for huge pages on the whole 4 KiB pages of `block[..len]` when `len` is at least
/// [`HUGE_BLOCK`]; a refusal (no transparent huge pages in this kernel) changes nothing.
fn advise_huge(block: *mut u8, len: usize) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if !block.is_null() && len >= HUGE_BLOCK {
        const PAGE: usize = 4096;
        let start = (block as usize).next_multiple_of(PAGE);
        let end = (block as usize + len) / PAGE * PAGE;
        // SAFETY: [start, end) lies inside the block just allocated; MADV_HUGEPAGE is advice
        // about how to back it and leaves its contents as they are.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = (block, len);
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use std::alloc::{GlobalAlloc, Layout};

    use super::{HUGE_BLOCK, HugePages};

    /// The `VmFlags` line of the mapping of this process that holds `addr` (`/proc/self/smaps`).
    fn vm_flags(addr: usize) -> String {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("read /proc/self/smaps");
        let mut inside = false;
        for line in smaps.lines() {
            let range = line.split_whitespace().next().unwrap_or("");
            if let Some((lo, hi)) = range.split_once('-')
                && let (Ok(lo), Ok(hi)) =
                    (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
            {
                inside = (lo..hi).contains(&addr);
            } else if inside && let Some(flags) = line.strip_prefix("VmFlags:") {
                return flags.to_string();
            }
        }
        panic!("no mapping holds {addr:#x}");
    }

    /// A large block's mapping is advised for huge pages (smaps' `hg` flag, "huge page
    /// advise"), a small one's is not. Bug caught: the advice left out of `alloc_zeroed` (the
    /// zeroed tables' path), or a threshold that also advises the heap.
    #[test]
    fn large_blocks_are_advised_for_huge_pages_and_small_ones_are_not() {
        if !std::path::Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists() {
            eprintln!("skipped: this kernel has no transparent huge pages");
            return;
        }
        let large = Layout::from_size_align(HUGE_BLOCK * 2, 64).unwrap();
        let small = Layout::from_size_align(1 << 20, 64).unwrap();
        for zeroed in [false, true] {
            // SAFETY: non-zero sizes; each block is freed below with its layout.
            let (big, little) = unsafe {
                match zeroed {
                    true => (HugePages.alloc_zeroed(large), HugePages.alloc_zeroed(small)),
                    false => (HugePages.alloc(large), HugePages.alloc(small)),
                }
            };
            assert!(!big.is_null() && !little.is_null());
            let flags = |p: *mut u8| vm_flags(p as usize + HUGE_BLOCK);
            assert!(
                flags(big).split_whitespace().any(|f| f == "hg"),
                "zeroed={zeroed}: large block's VmFlags lack hg: {}",
                flags(big)
            );
            let small_flags = vm_flags(little as usize);
            assert!(
                !small_flags.split_whitespace().any(|f| f == "hg"),
                "zeroed={zeroed}: small block's VmFlags have hg: {small_flags}"
            );
            // SAFETY: allocated above with these layouts.
            unsafe {
                HugePages.dealloc(big, large);
                HugePages.dealloc(little, small);
            }
        }
    }
}
