// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the context device bus through its Rust API, `kernel::context_bus`.
//!
//! They need QEMU's arm64 virt machine with an SMMUv3
//! (`tools/testing/kunit/qemu_configs/arm64_smmuv3.py`), whose PCIe host bridge maps every
//! requester ID to the SMMU stream of the same number through its `iommu-map`; elsewhere they
//! skip. The DMA tests also need its edu devices (`<kunit/qemu_edu.h>`).

use core::ops::Range;
use kernel::{
    bindings,
    context_bus::{ContextDevice, Flags, Options, Registration},
    device::{Bound, Device},
    dma::{DataDirection, DmaMask},
    faux,
    ffi::{c_int, c_void},
    iommu::group::Group,
    of,
    prelude::*,
    sync::aref::ARef,
};

/// What `pr_info!` puts before each line: a module gets it from `module!`, this file is none.
#[cfg(CONFIG_FAULT_INJECTION)]
const __LOG_PREFIX: &[u8] = b"rust_context_bus\0";

/// QEMU virt's PCIe host bridge; 0x300 is a bus number no device uses.
const PCIE_COMPATIBLE: &CStr = c"pci-host-ecam-generic";
const FN_ID: u32 = 0x300;

/// Returns the number of devices on the context device bus.
fn bus_device_count() -> usize {
    unsafe extern "C" fn count(_dev: *mut bindings::device, data: *mut c_void) -> c_int {
        // SAFETY: `data` is the counter passed below, not otherwise used during the walk.
        unsafe { *data.cast::<usize>() += 1 };
        0
    }
    let mut n = 0usize;
    // SAFETY: The bus is registered, a static; `count` gets `n` back, which outlives the walk.
    let ret = unsafe {
        bindings::bus_for_each_dev(
            &bindings::context_device_bus_type,
            core::ptr::null_mut(),
            (&raw mut n).cast(),
            Some(count),
        )
    };
    if ret != 0 {
        return usize::MAX;
    }
    n
}

/// Marks the running test skipped, with `reason`, as `kunit_mark_skipped()` does; the test then
/// returns.
fn skip(reason: &CStr) {
    // SAFETY: `kunit_get_current_test()` has no precondition; in a KUnit test it returns the
    // running test, which only its own thread writes while it runs.
    unsafe {
        let test = bindings::kunit_get_current_test();
        (*test).status = bindings::kunit_status_KUNIT_SKIPPED;
        let comment = &mut (*test).status_comment;
        let reason = reason.to_bytes_with_nul();
        let n = reason.len().min(comment.len());
        for (to, from) in comment[..n].iter_mut().zip(reason) {
            *to = *from as kernel::ffi::c_char;
        }
        comment[n - 1] = 0;
    }
}

/// What each test starts from: the map provider, a parent, the bus's device count.
struct Fixture {
    /// The node whose `iommu-map` the tests use.
    provider: ARef<of::Node>,
    parent: faux::Registration,
    before: usize,
}

impl Fixture {
    /// Returns `None`, the test marked skipped, without QEMU's PCIe host.
    fn new() -> Result<Option<Self>> {
        let Some(provider) = of::Node::find_compatible(PCIE_COMPATIBLE) else {
            skip(c"needs QEMU virt's PCIe host behind an SMMUv3 (arm64_smmuv3.py)");
            return Ok(None);
        };
        Ok(Some(Self {
            provider,
            parent: faux::Registration::new(c"rust-context-bus-test", None)?,
            before: bus_device_count(),
        }))
    }

    fn parent(&self) -> &Device<Bound> {
        let parent: &faux::Device<Bound> = self.parent.as_ref();
        parent.as_ref()
    }

    /// Creates the context device of function `FN_ID`, with `window`.
    fn create(&self, window: Option<Range<u64>>) -> Result<Registration> {
        let node = self.provider.fwnode();
        ContextDevice::create(self.parent(), node, FN_ID, DmaMask::new::<32>(), window)
    }
}

#[kunit_tests(rust_context_bus)]
mod tests {
    use super::*;

    #[test]
    fn registration_owns_the_device() -> Result {
        let Some(f) = Fixture::new()? else {
            return Ok(());
        };
        let reg = f.create(Some(0x1000_0000..0x2000_0000))?;
        assert_eq!(bus_device_count(), f.before + 1);
        let dev: &Device = reg.as_ref();
        assert_eq!(dev.name().to_bytes(), b"rust-context-bus-test:ctx.768");
        let group = Group::of(dev).ok_or(ENODEV)?;
        assert_eq!(reg.iommu_group_id(), Some(group.id()));
        let again: &ContextDevice = dev.try_into()?;
        assert!(core::ptr::eq(again, &*reg));
        let parent: &Device = f.parent();
        assert!(<&ContextDevice>::try_from(parent).is_err());

        drop(reg);
        assert_eq!(bus_device_count(), f.before);
        Ok(())
    }

    /// A name and flags of the caller's: the name is the device's, and a second device on the
    /// same stream is refused unless both accept sharing.
    #[test]
    fn options_name_and_flags() -> Result {
        let Some(f) = Fixture::new()? else {
            return Ok(());
        };
        let node = f.provider.fwnode();
        let create = |name: &'static CStr, flags| {
            let options = Options {
                name: Some(name),
                flags,
            };
            ContextDevice::create_with(f.parent(), node, FN_ID, DmaMask::new::<32>(), None, options)
        };
        let a = create(c"rust-ctx-a", Flags::default())?;
        assert_eq!(a.as_ref().name().to_bytes(), b"rust-ctx-a");
        assert!(matches!(create(c"rust-ctx-a", Flags::default()), Err(e) if e == EEXIST));
        assert!(matches!(create(c"bad/name", Flags::default()), Err(e) if e == EINVAL));
        // SMMUv3 gives each device of a stream a group of its own, or refuses the second: either
        // way the two are never silently put in one IOVA space.
        match create(c"rust-ctx-b", Flags::SHARE_GROUP) {
            Ok(b) => assert_ne!(b.iommu_group_id(), a.iommu_group_id()),
            Err(e) => assert!(e == ENODEV || e == EBUSY),
        }
        drop(a);
        assert_eq!(bus_device_count(), f.before);
        Ok(())
    }

    #[test]
    fn dma_memory_lies_in_the_window() -> Result {
        let Some(f) = Fixture::new()? else {
            return Ok(());
        };
        let window = 0x1000_0000..0x2000_0000;
        let reg = f.create(Some(window.clone()))?;
        let mut ring = reg.dma_zeroed_slice::<u32>(1024, GFP_KERNEL)?;
        let one = reg.dma_zeroed::<u64>(GFP_KERNEL)?;
        for iova in [ring.dma_address(), one.dma_address()] {
            assert!(window.contains(&iova));
        }
        assert_eq!(ring.len(), 1024);
        assert!(ring.write(1023, 7));
        assert!(!ring.write(1024, 7));
        assert_eq!(ring.read(1023), Some(7));
        assert_eq!(one.read(0), Some(0));
        let frame = KVec::from_elem(0u8, 8192, GFP_KERNEL)?;
        let mapping = reg.attached().map(frame, DataDirection::Bidirectional)?;
        assert!(window.contains(&mapping.dma_address()));
        assert_eq!(mapping.size(), 8192);
        assert_eq!(mapping.unmap().len(), 8192);
        assert!(matches!(
            reg.attached().map(KVec::<u8>::new(), DataDirection::ToDevice),
            Err(e) if e == EINVAL
        ));
        // The memory goes before the device: the borrow checker sees to it.
        drop((ring, one));
        drop(reg);
        assert_eq!(bus_device_count(), f.before);
        Ok(())
    }

    /// Real DMA through the SMMU, by QEMU's edu devices: coherent memory and a streaming mapping
    /// lie in the window, the registration's own stream reads and writes them there, and the
    /// stream of another registration reaches nothing at those IOVAs. The coherent memory is
    /// 64 KiB, and its first page is tried: the helper's own transfers through the other
    /// registration take the top page of its space. Skipped without two edu devices.
    #[cfg(CONFIG_IOMMU_KUNIT_EDU)]
    #[test]
    fn dma_is_reached_by_its_stream_only() -> Result {
        const LEN: usize = bindings::QEMU_EDU_DMA_MAX as usize;
        let Some(f) = Fixture::new()? else {
            return Ok(());
        };
        // SAFETY: `kunit_get_current_test()` has no precondition.
        let test = unsafe { bindings::kunit_get_current_test() };
        // SAFETY: `test` is the running test: the call may end its thread (a skip, without two
        // edu devices), which leaks `f`, safely. Otherwise it returns a non-NULL pointer into a
        // static array of the helper's, written once before it is handed out and never again,
        // so a shared `'static` reference to it is sound.
        let edus = [0, 1].map(|i| unsafe { &*bindings::qemu_edu_kunit_get(test, i) });
        // Both streams come through QEMU's PCIe host, the provider of `Fixture`.
        assert!(edus.iter().all(|edu| edu.host == f.provider.as_raw()));
        let window = 0x1000_0000..0x2000_0000;
        let [a, b] = edus.map(|edu| {
            ContextDevice::create(
                f.parent(),
                f.provider.fwnode(),
                edu.rid,
                DmaMask::new::<32>(),
                Some(window.clone()),
            )
        });
        let (a, b) = (a?, b?);

        // Coherent memory.
        let buf = a.dma_zeroed_slice::<u8>(64 * 1024, GFP_KERNEL)?;
        assert!(window.contains(&buf.dma_address()));
        let reach = |edu: &bindings::qemu_edu, reg: &Registration| {
            let dev = reg.as_raw().cast();
            // SAFETY: `test` is the running test, `edu` one of its edu devices and `dev` a live
            // context device with a DMA domain. The edu and the helper write the first `LEN`
            // (less than `buf.len()`) bytes at `buf.as_mut_ptr()`, which stays allocated across
            // the call, and no Rust reference to them exists meanwhile. A failed KUnit assertion
            // in the helper ends the test's thread: what is live then leaks, which is safe.
            unsafe {
                bindings::qemu_edu_kunit_reach(
                    test,
                    edu,
                    dev,
                    buf.dma_address(),
                    buf.as_mut_ptr().cast(),
                    LEN,
                )
            }
        };
        let own = reach(edus[0], &a);
        assert!(own.read && own.write);
        let other = reach(edus[1], &b);
        assert!(!other.read && !other.write);
        drop(buf);

        // A streaming mapping, written by the device and read back by the CPU once unmapped.
        let pattern = KVec::from_elem(0xa5u8, LEN, GFP_KERNEL)?;
        // Puts `pattern` into the edu's buffer, then has the edu write it to `iova`.
        let write_at = |edu: &bindings::qemu_edu, reg: &Registration, iova| {
            let dev = reg.as_raw().cast();
            // SAFETY: As above; `pattern` is `LEN` bytes the helper only reads, and the edu
            // writes `LEN` bytes at `iova`, through the IOMMU, into what is mapped there or
            // nowhere.
            unsafe {
                bindings::qemu_edu_kunit_load(test, edu, dev, pattern.as_ptr().cast(), LEN);
                bindings::qemu_edu_kunit_dma(test, edu, iova, LEN, true);
            }
        };
        let frame = KVec::from_elem(0u8, 2 * LEN, GFP_KERNEL)?;
        let mapping = a.attached().map(frame, DataDirection::FromDevice)?;
        let iova = mapping.dma_address();
        assert!(window.contains(&iova));
        // The other stream first: it must not land.
        write_at(edus[1], &b, iova);
        write_at(edus[0], &a, iova + LEN as u64);
        let mut frame = mapping.unmap();
        assert!(frame[..LEN].iter().all(|&byte| byte == 0));
        assert!(frame[LEN..] == pattern[..]);
        // Unmapped, the IOVA reaches nothing of `a` any more: the write is dropped.
        frame.iter_mut().for_each(|byte| *byte = 0);
        write_at(edus[0], &a, iova);
        assert!(frame.iter().all(|&byte| byte == 0));

        drop((a, b));
        assert_eq!(bus_device_count(), f.before);
        Ok(())
    }

    #[test]
    fn create_refuses_a_window_outside_the_mask() -> Result {
        let Some(f) = Fixture::new()? else {
            return Ok(());
        };
        assert!(matches!(f.create(Some(0..0x2_0000_0000)), Err(e) if e == ERANGE));
        assert_eq!(bus_device_count(), f.before);
        Ok(())
    }

    /// Fails the `n`-th fault point of `f`'s allocations (0: none) and tells whether it was
    /// reached.
    #[cfg(CONFIG_FAULT_INJECTION)]
    fn with_fault<T>(n: u32, f: impl FnOnce() -> T) -> (T, bool) {
        let task = kernel::task::Task::current_raw();
        // SAFETY: `task` is the current task, alive during the call. The fault-injection core
        // accesses the field with `READ_ONCE()` and `WRITE_ONCE()`, which volatile accesses pair
        // with; `/proc/<pid>/task/<tid>/fail-nth` writes it plainly from another task, C's own
        // race, which only changes which fault fires, as for a C test.
        let fail_nth = unsafe { &raw mut (*task).fail_nth };
        // SAFETY: `fail_nth` is valid for the call, as above.
        unsafe { fail_nth.write_volatile(n) };
        let ret = f();
        // SAFETY: As above.
        let fired = n != 0 && unsafe { fail_nth.read_volatile() } == 0;
        // SAFETY: As above.
        unsafe { fail_nth.write_volatile(0) };
        (ret, fired)
    }

    /// Fails the `n`-th allocation of a `create()`, for n = 1, 2, ... until a create meets
    /// no fault: every failed create leaves the bus as it was and the stream free for the next.
    /// Meaningful where failslab and fail_page_alloc fail `GFP_KERNEL` allocations (their
    /// `ignore-gfp-wait` cleared in debugfs); elsewhere no fault point fires and it checks one
    /// create.
    #[cfg(CONFIG_FAULT_INJECTION)]
    #[test]
    fn create_survives_every_fault() -> Result {
        let Some(f) = Fixture::new()? else {
            return Ok(());
        };
        let create = || f.create(Some(0x1000_0000..0x2000_0000));

        let (mut refused, mut absorbed, mut n) = (0u32, 0u32, 1u32);
        loop {
            // An injected fault may make arm-smmu-v3 fail a first domain attach, which the
            // IOMMU core warns about: tell the test harness (`<kunit/expect_stack_dump.h>`).
            pr_info!(
                "context-bus-kunit: expect stack dump: create_survives_every_fault: \
                 an injected fault may make arm-smmu-v3 fail a first domain attach\n"
            );
            let (reg, fired) = with_fault(n, create);
            pr_info!("context-bus-kunit: end of expected stack dump\n");
            if !fired {
                assert!(reg.is_ok());
                break;
            }
            match reg {
                Ok(reg) => {
                    absorbed += 1;
                    assert!(Group::of(reg.as_ref()).is_some());
                }
                Err(_) => refused += 1,
            }
            assert_eq!(bus_device_count(), f.before);
            // The stream is free again.
            drop(create()?);
            n += 1;
        }
        pr_info!(
            "{} fault points: {} refused, {} absorbed\n",
            n - 1,
            refused,
            absorbed
        );
        assert_eq!(bus_device_count(), f.before);
        Ok(())
    }

    #[test]
    fn create_refuses_an_empty_window() -> Result {
        let Some(f) = Fixture::new()? else {
            return Ok(());
        };
        #[expect(clippy::reversed_empty_ranges)]
        let windows = [0x1000_0000..0x1000_0000, 0x2000_0000..0x1000_0000];
        for window in windows {
            assert!(matches!(f.create(Some(window)), Err(e) if e == EINVAL));
        }
        assert_eq!(bus_device_count(), f.before);
        Ok(())
    }
}
