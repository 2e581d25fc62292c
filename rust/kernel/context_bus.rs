// SPDX-License-Identifier: GPL-2.0

//! IOMMU context devices.
//!
//! A context device stands for one IOMMU context of its parent: its own stream ID, IOMMU group
//! and IOVA space, optionally limited to an IOVA window. A driver whose hardware has several DMA
//! streams creates one per stream while it probes, and uses it for DMA; no driver binds to it.
//!
//! This module is the users' side of the context device bus (`drivers/base/context_bus.rs`),
//! through its C API.
//!
//! C header: [`include/linux/context_bus.h`](srctree/include/linux/context_bus.h)
//!
//! See also `Documentation/driver-api/context-bus.rst`.
//!
//! # Lifetime
//!
//! A context device lives until its creator destroys it, by dropping its [`Registration`]. It may
//! outlive its parent's binding: it holds a reference to its parent, and DMA through it keeps
//! going through its IOMMU context until it is destroyed.
//!
//! A context device is never bound to a driver, so it is not a [`Bound`] device. What is true of
//! it instead is that it is attached to its IOMMU context for as long as its registration lives:
//! [`Attached`] says so, and the DMA memory and mappings made through it borrow the registration,
//! so that they go before the device leaves its IOMMU context.

use crate::{
    alloc::flags::__GFP_ZERO,
    bindings,
    device::{self, property::FwNode, Bound},
    dma::{DataDirection, DmaAddress, DmaMask},
    error::{from_err_ptr, to_result},
    of,
    prelude::*,
    sync::aref::AlwaysRefCounted,
    transmute::{AsBytes, FromBytes},
    types::Opaque,
};
use core::{
    mem::ManuallyDrop,
    ops::{BitOr, Deref, Range},
    ptr::{self, NonNull},
};

// C sees a context device as its `dev`: the pointers are the same.
const _: () = assert!(core::mem::offset_of!(bindings::context_device, dev) == 0);

/// A device on the context device bus: one IOMMU context of its parent.
///
/// Made with [`ContextDevice::create`], which hands out a [`Registration`] that owns it. It serves
/// wherever a device is expected through [`AsRef<device::Device>`].
///
/// # Invariants
///
/// `self.0` is a `struct context_device`, a device on the context device bus.
#[repr(transparent)]
pub struct ContextDevice(Opaque<bindings::context_device>);

/// Flags of a context device's creation ([`Options::flags`]).
///
/// # Examples
///
/// ```
/// use kernel::context_bus::Flags;
///
/// let flags = Flags::ALLOW_IDENTITY | Flags::SHARE_GROUP;
/// assert!(flags.contains(Flags::SHARE_GROUP));
/// assert!(!Flags::default().contains(Flags::ALLOW_IDENTITY));
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Flags(u32);

impl Flags {
    /// Accept an IOMMU group whose domain is an identity (passthrough) one, as with
    /// `iommu.passthrough=1`: DMA is then not translated, and the device isolated by nothing
    /// (`CONTEXT_DEVICE_ALLOW_IDENTITY`). A device with a window gets a DMA domain regardless.
    pub const ALLOW_IDENTITY: Flags = Flags(bindings::CONTEXT_DEVICE_ALLOW_IDENTITY);

    /// Accept an IOMMU group shared with context devices that set this flag too and have the
    /// same window (`CONTEXT_DEVICE_SHARE_GROUP`): they then share one IOVA space.
    pub const SHARE_GROUP: Flags = Flags(bindings::CONTEXT_DEVICE_SHARE_GROUP);

    /// Returns whether every flag of `other` is set in `self`.
    #[inline]
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for Flags {
    type Output = Flags;

    #[inline]
    fn bitor(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }
}

/// What [`ContextDevice::create_with`] takes beyond [`ContextDevice::create`]'s arguments.
///
/// # Examples
///
/// ```
/// use kernel::context_bus::{Flags, Options};
///
/// let options = Options { name: Some(c"vpu:bank.secure"), flags: Flags::SHARE_GROUP };
/// assert_eq!(Options::default().flags, Flags::default());
/// # let _ = options;
/// ```
#[derive(Clone, Copy, Default)]
pub struct Options<'a> {
    /// The device's name; `None` for `<parent name>:ctx.<fn_id>`. It may not be empty nor hold a
    /// `/`.
    pub name: Option<&'a CStr>,
    /// The creation's flags.
    pub flags: Flags,
}

impl ContextDevice {
    /// Creates a context device for one IOMMU context of `parent`.
    ///
    /// `node` describes the context: either a node with an `iommu-map` (usually the parent's),
    /// looked up with `fn_id`, or the context's own node with `iommus` (and maybe
    /// `iommu-ranges`). `dma_mask` becomes the streaming and coherent DMA mask. `iova_window`, if
    /// given, is the only IOVA range the DMA API hands out for the device; it must lie within
    /// `dma_mask` and be aligned to the IOVA granule. An empty `iova_window` is refused with
    /// `EINVAL`.
    ///
    /// Returns once the device is fully usable: attached to its IOMMU, masks set, window
    /// reserved. Every refusal is logged against `parent`; the errors are those of
    /// `context_device_create()`. Dropping the [`Registration`] destroys the device.
    ///
    /// # Examples
    ///
    /// Three banks of a video block, described by its node's `iommu-map`, each with its own
    /// window:
    ///
    /// ```
    /// use kernel::{context_bus::{ContextDevice, Registration}, device::{Bound, Device}};
    /// use kernel::{dma::DmaMask, prelude::*};
    ///
    /// const MB: u64 = 1 << 20;
    ///
    /// fn create_banks(parent: &Device<Bound>) -> Result<KVec<Registration>> {
    ///     let node = parent.fwnode().ok_or(ENODEV)?;
    ///     let windows = [600 * MB..3500 * MB, 0..3500 * MB, 16 * MB..600 * MB];
    ///     let mut banks = KVec::new();
    ///     for (fn_id, window) in (0..).zip(windows) {
    ///         let bank = ContextDevice::create(parent, node, fn_id, DmaMask::new::<32>(),
    ///                                          Some(window))?;
    ///         banks.push(bank, GFP_KERNEL)?;
    ///     }
    ///     Ok(banks)
    /// }
    /// # let _ = create_banks;
    /// ```
    #[inline]
    pub fn create(
        parent: &device::Device<Bound>,
        node: &FwNode,
        fn_id: u32,
        dma_mask: DmaMask,
        iova_window: Option<Range<u64>>,
    ) -> Result<Registration> {
        Self::create_with(
            parent,
            node,
            fn_id,
            dma_mask,
            iova_window,
            Options::default(),
        )
    }

    /// Creates a context device as [`ContextDevice::create`] does, with a name or flags of the
    /// caller's.
    ///
    /// # Examples
    ///
    /// Two banks on one stream, as where an IOMMU puts several streams in one group: they share
    /// one IOVA space, so they must say so and have the same window.
    ///
    /// ```
    /// use kernel::context_bus::{ContextDevice, Flags, Options, Registration};
    /// use kernel::{device::{Bound, Device}, dma::DmaMask, prelude::*};
    ///
    /// fn shared_banks(parent: &Device<Bound>) -> Result<[Registration; 2]> {
    ///     let node = parent.fwnode().ok_or(ENODEV)?;
    ///     let create = |name: &CStr| {
    ///         let options = Options { name: Some(name), flags: Flags::SHARE_GROUP };
    ///         ContextDevice::create_with(parent, node, 0, DmaMask::new::<32>(),
    ///                                    Some(0..1 << 30), options)
    ///     };
    ///     Ok([create(c"dsp:bank.0")?, create(c"dsp:bank.1")?])
    /// }
    /// # let _ = shared_banks;
    /// ```
    pub fn create_with(
        parent: &device::Device<Bound>,
        node: &FwNode,
        fn_id: u32,
        dma_mask: DmaMask,
        iova_window: Option<Range<u64>>,
        options: Options<'_>,
    ) -> Result<Registration> {
        let np = of::Node::from_fwnode(node).ok_or(EINVAL)?;
        // An empty window is a mistake, not a request for none: `None` says that.
        let (iova_start, iova_size) = match iova_window {
            None => (0, 0),
            Some(window) if window.start < window.end => (window.start, window.end - window.start),
            Some(_) => return Err(EINVAL),
        };
        let info = bindings::context_device_info {
            np: np.as_raw(),
            name: options.name.map_or(ptr::null(), |name| name.as_char_ptr()),
            fn_id,
            dma_mask: dma_mask.value(),
            iova_start,
            iova_size,
            flags: options.flags.0,
        };
        // SAFETY: `parent` is a valid, bound device and `info` a valid description, whose node
        // `np` is referenced and whose name, if any, is a NUL-terminated string, both for the
        // call; the bus copies what it keeps.
        let cdev =
            from_err_ptr(unsafe { bindings::context_device_create(parent.as_raw(), &info) })?;
        Ok(Registration {
            // INVARIANT: `context_device_create()` returned a live context device.
            // SAFETY: Not an error pointer, hence not NULL.
            cdev: unsafe { NonNull::new_unchecked(cdev) },
        })
    }

    /// Returns the raw `struct context_device` pointer, for C code that takes the device; its
    /// `dev` is its first field.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::context_device {
        self.0.get()
    }
}

impl AsRef<device::Device> for ContextDevice {
    #[inline]
    fn as_ref(&self) -> &device::Device {
        // SAFETY: By the type invariant `self.as_raw()` is a valid `struct context_device`.
        let dev = unsafe { &raw mut (*self.as_raw()).dev };
        // SAFETY: `dev` points to a valid `struct device`, as long as `self`.
        unsafe { device::Device::from_raw(dev) }
    }
}

// SAFETY: Instances of `ContextDevice` are always reference-counted through their `dev`.
unsafe impl AlwaysRefCounted for ContextDevice {
    #[inline]
    fn inc_ref(&self) {
        // SAFETY: The existence of a shared reference guarantees that the refcount is non-zero.
        unsafe { bindings::get_device(self.as_ref().as_raw()) };
    }

    #[inline]
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: `obj` is a valid context device, so `dev` is a valid `struct device`.
        let dev = unsafe { &raw mut (*obj.as_ref().as_raw()).dev };
        // SAFETY: The safety requirements guarantee that the refcount is non-zero.
        unsafe { bindings::put_device(dev) }
    }
}

impl<'a> TryFrom<&'a device::Device> for &'a ContextDevice {
    type Error = Error;

    /// Returns the context device `dev` is, or `EINVAL` for another device.
    fn try_from(dev: &'a device::Device) -> Result<Self> {
        // SAFETY: `dev` is a valid device.
        if !unsafe { bindings::dev_is_context_device(dev.as_raw()) } {
            return Err(EINVAL);
        }
        // SAFETY: `dev` is the `dev` of a `struct context_device`.
        let cdev = unsafe { crate::container_of!(dev.as_raw(), bindings::context_device, dev) };
        // SAFETY: `ContextDevice` is a transparent wrapper of `struct context_device`, valid as
        // long as `dev`.
        Ok(unsafe { &*cdev.cast::<ContextDevice>() })
    }
}

// SAFETY: A `ContextDevice` is a device like any other: the driver core makes its use from any
// thread sound.
unsafe impl Send for ContextDevice {}

// SAFETY: As for `Send`.
unsafe impl Sync for ContextDevice {}

/// Ownership of a context device: dropping it destroys the device.
///
/// It may be kept beyond the parent's binding (see the [module's documentation](self)); a
/// parent driver usually keeps it in its private data.
///
/// The registration derefs to the [`ContextDevice`] for what any device offers, but not to a
/// [`Bound`] device: DMA memory made from a bound device holds only a reference to the device, so
/// it could outlive the registration and be freed after the device has left its IOMMU context.
/// DMA memory and mappings come from the registration instead ([`Registration::attached`]), and
/// borrow it:
///
/// ```compile_fail,E0505
/// use kernel::{context_bus::Registration, prelude::*};
///
/// fn keep_dma_beyond_the_device(reg: Registration) -> Result {
///     let buf = reg.dma_zeroed::<u64>(GFP_KERNEL)?;
///     // error[E0505]: cannot move out of `reg` because it is borrowed
///     drop(reg);
///     let _ = buf.dma_address();
///     Ok(())
/// }
/// ```
///
/// Neither can the registration stand in for a bound device:
///
/// ```compile_fail,E0308
/// use kernel::{context_bus::Registration, device::{Bound, Device}};
///
/// fn bound(reg: &Registration) -> &Device<Bound> {
///     // error[E0308]: mismatched types: expected `&Device<Bound>`
///     reg
/// }
/// ```
///
/// # Invariants
///
/// `cdev` is a live context device made by `context_device_create()`, not destroyed yet.
pub struct Registration {
    cdev: NonNull<bindings::context_device>,
}

impl Registration {
    /// Returns the device, attached to its IOMMU context for as long as `self` is borrowed.
    #[inline]
    pub fn attached(&self) -> Attached<'_> {
        // INVARIANT: The device is live until `self` is dropped (type invariant), which the
        // borrow forbids; `context_device_create()` returned it attached to its IOMMU context,
        // and only `context_device_destroy()` detaches it.
        Attached { cdev: self }
    }

    /// Allocates zeroed coherent DMA memory for one `T`, which lives no longer than the
    /// registration ([`Attached::dma_zeroed_slice`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{context_bus::Registration, prelude::*};
    ///
    /// fn doorbell(bank: &Registration) -> Result {
    ///     let mut bell = bank.dma_zeroed::<u64>(GFP_KERNEL)?;
    ///     bell.write(0, 1);
    ///     pr_info!("doorbell at IOVA {:#x}\n", bell.dma_address());
    ///     Ok(())
    /// }
    /// # let _ = doorbell;
    /// ```
    #[inline]
    pub fn dma_zeroed<T: AsBytes + FromBytes>(
        &self,
        gfp: crate::alloc::Flags,
    ) -> Result<Dma<'_, T>> {
        self.attached().dma_zeroed_slice(1, gfp)
    }

    /// Allocates zeroed coherent DMA memory for `len` elements of `T`, which lives no longer than
    /// the registration ([`Attached::dma_zeroed_slice`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{context_bus::Registration, prelude::*};
    ///
    /// fn ring(bank: &Registration) -> Result {
    ///     let ring = bank.dma_zeroed_slice::<u32>(64, GFP_KERNEL)?;
    ///     pr_info!("ring of {} entries at IOVA {:#x}\n", ring.len(), ring.dma_address());
    ///     Ok(())
    /// }
    /// # let _ = ring;
    /// ```
    #[inline]
    pub fn dma_zeroed_slice<T: AsBytes + FromBytes>(
        &self,
        len: usize,
        gfp: crate::alloc::Flags,
    ) -> Result<Dma<'_, T>> {
        self.attached().dma_zeroed_slice(len, gfp)
    }

    /// Returns the id of the device's IOMMU group, as in `/sys/kernel/iommu_groups/<id>`; `None`
    /// should the device be in none (a live context device always is).
    ///
    /// Each context device has a group of its own unless several share one stream with
    /// [`Flags::SHARE_GROUP`].
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{context_bus::Registration, prelude::*};
    ///
    /// fn show(bank: &Registration) {
    ///     if let Some(id) = bank.iommu_group_id() {
    ///         pr_info!("{}: IOMMU group {}\n", bank.as_ref().name(), id);
    ///     }
    /// }
    /// # let _ = show;
    /// ```
    #[inline]
    pub fn iommu_group_id(&self) -> Option<u32> {
        crate::iommu::group::Group::of(self.as_ref()).map(|group| group.id())
    }
}

impl Deref for Registration {
    type Target = ContextDevice;

    #[inline]
    fn deref(&self) -> &ContextDevice {
        // SAFETY: By the type invariant `cdev` is live until `self` is dropped;
        // `ContextDevice` is a transparent wrapper of `struct context_device`.
        unsafe { &*self.cdev.as_ptr().cast::<ContextDevice>() }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `cdev` is live and destroyed only here. Everything made
        // through `Attached` borrows `self`, so it is gone already, or was forgotten: then its
        // memory is leaked with it, never reused, and the device's DMA ends with its context.
        unsafe { bindings::context_device_destroy(self.cdev.as_ptr()) };
    }
}

// SAFETY: The device may be destroyed from any thread.
unsafe impl Send for Registration {}

// SAFETY: `Registration` offers only shared access to a `Sync` device.
unsafe impl Sync for Registration {}

/// A context device attached to its IOMMU context for `'a`: its group, its default DMA domain,
/// and the DMA API's translation through them stay for `'a`.
///
/// That is what DMA through the device needs, and all it needs: the device is not [`Bound`], and
/// nothing made here claims it is. Made by [`Registration::attached`]; what is made through it
/// borrows the registration for `'a`.
///
/// # Invariants
///
/// `cdev` is a live context device, attached to its IOMMU context, that is neither destroyed nor
/// detached during `'a`.
#[derive(Clone, Copy)]
pub struct Attached<'a> {
    cdev: &'a ContextDevice,
}

impl<'a> Attached<'a> {
    /// Returns the device.
    #[inline]
    pub fn device(self) -> &'a device::Device {
        self.cdev.as_ref()
    }

    #[inline]
    fn raw(self) -> *mut bindings::device {
        self.device().as_raw()
    }

    /// Allocates zeroed coherent DMA memory for `len` elements of `T` (`dma_alloc_attrs()`),
    /// which lives no longer than `'a`. The memory lies in the device's IOVA window.
    ///
    /// Fails with `EINVAL` for no elements, `EOVERFLOW` for more than the address space holds,
    /// `ENOMEM` if the memory or the window's IOVA runs out.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{context_bus::Registration, prelude::*};
    ///
    /// fn table(bank: &Registration) -> Result {
    ///     let mut table = bank.attached().dma_zeroed_slice::<u32>(16, GFP_KERNEL)?;
    ///     table.write(3, 0xcafe);
    ///     assert_eq!(table.read(3), Some(0xcafe));
    ///     assert_eq!(table.read(16), None);
    ///     Ok(())
    /// }
    /// # let _ = table;
    /// ```
    pub fn dma_zeroed_slice<T: AsBytes + FromBytes>(
        self,
        len: usize,
        gfp: crate::alloc::Flags,
    ) -> Result<Dma<'a, T>> {
        const {
            assert!(
                core::mem::size_of::<T>() > 0,
                "DMA memory for a zero-sized type makes no sense"
            );
        }
        if len == 0 {
            return Err(EINVAL);
        }
        let size = len
            .checked_mul(core::mem::size_of::<T>())
            .ok_or(EOVERFLOW)?;
        let mut handle = 0;
        // SAFETY: The device is valid and attached to its IOMMU context (type invariant); `handle`
        // is a valid place for the DMA address.
        let cpu = unsafe {
            bindings::dma_alloc_attrs(
                self.raw(),
                size,
                &mut handle,
                (gfp | __GFP_ZERO).as_raw(),
                0,
            )
        };
        let cpu = NonNull::new(cpu.cast::<T>()).ok_or(ENOMEM)?;
        // INVARIANT: Just allocated for the device, `size` bytes, zeroed.
        Ok(Dma {
            dev: self,
            cpu,
            handle,
            len,
        })
    }

    /// Maps the elements of `buf` for DMA in direction `dir` (`dma_map_single_attrs()`) for as
    /// long as the returned [`Mapping`] lives, which owns the buffer meanwhile and borrows `self`:
    /// the CPU cannot touch the buffer while the device may, and the mapping is gone
    /// (`dma_unmap_single_attrs()`, which makes the device's writes visible) before the device
    /// leaves its IOMMU context. [`Mapping::unmap`] gives the buffer back.
    ///
    /// The mapping owns the buffer rather than borrowing it so that forgetting the mapping
    /// ([`core::mem::forget`], which safe code may do) leaks the buffer with it: memory the
    /// device may still write is never freed for reuse.
    ///
    /// The buffer is a [`KVec`], so that it is physically contiguous memory the DMA API can map.
    /// Fails with `EINVAL` for an empty buffer, `ENOMEM` if the mapping fails (the window's IOVA
    /// runs out); the buffer is freed then.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{context_bus::Registration, dma::DataDirection, prelude::*};
    ///
    /// fn send(bank: &Registration, frame: KVec<u8>) -> Result<KVec<u8>> {
    ///     let mapping = bank.attached().map(frame, DataDirection::ToDevice)?;
    ///     pr_info!("frame at IOVA {:#x}\n", mapping.dma_address());
    ///     // The device reads the frame here.
    ///     // Unmapped: the frame is the CPU's again.
    ///     Ok(mapping.unmap())
    /// }
    /// # let _ = send;
    /// ```
    ///
    /// While it is mapped, the buffer is the device's:
    ///
    /// ```compile_fail,E0382
    /// use kernel::{context_bus::Registration, dma::DataDirection, prelude::*};
    ///
    /// fn scribble(bank: &Registration, mut frame: KVec<u8>) -> Result {
    ///     let mapping = bank.attached().map(frame, DataDirection::FromDevice)?;
    ///     // error[E0382]: borrow of moved value: `frame`
    ///     frame[0] = 0;
    ///     drop(mapping);
    ///     Ok(())
    /// }
    /// ```
    ///
    /// and the mapping cannot outlive the registration:
    ///
    /// ```compile_fail,E0505
    /// use kernel::{context_bus::Registration, dma::DataDirection, prelude::*};
    ///
    /// fn keep_mapped(bank: Registration, frame: KVec<u8>) -> Result {
    ///     let mapping = bank.attached().map(frame, DataDirection::ToDevice)?;
    ///     // error[E0505]: cannot move out of `bank` because it is borrowed
    ///     drop(bank);
    ///     let _ = mapping.dma_address();
    ///     Ok(())
    /// }
    /// ```
    pub fn map<T: AsBytes + FromBytes>(
        self,
        mut buf: KVec<T>,
        dir: DataDirection,
    ) -> Result<Mapping<'a, T>> {
        let size = core::mem::size_of_val(buf.as_slice());
        if size == 0 {
            return Err(EINVAL);
        }
        let dir = bindings::dma_data_direction::from(dir);
        // SAFETY: The device is valid and attached to its IOMMU context (type invariant). The
        // buffer is `size` bytes of one `kmalloc()` allocation, in the kernel's linear map; the
        // `Mapping` owns it for as long as it is mapped, and leaks it if it is never unmapped.
        let addr = unsafe {
            bindings::dma_map_single_attrs(self.raw(), buf.as_mut_ptr().cast(), size, dir, 0)
        };
        // SAFETY: `addr` was just returned by a mapping of the device.
        to_result(unsafe { bindings::dma_mapping_error(self.raw(), addr) })?;
        // INVARIANT: Just mapped, `size` bytes of `buf` in direction `dir`.
        Ok(Mapping {
            dev: self,
            addr,
            size,
            dir,
            buf: ManuallyDrop::new(buf),
        })
    }
}

/// Coherent DMA memory of a context device, `len` elements of `T`, which cannot outlive the
/// device's [`Attached`] borrow, hence its [`Registration`].
///
/// The CPU reads and writes it one element at a time, with volatile accesses: the device may
/// write it at any time, and any value is a valid `T` (`FromBytes`).
///
/// # Invariants
///
/// `cpu` and `handle` are the CPU and DMA addresses of `len * size_of::<T>()` bytes of coherent
/// memory that `dma_alloc_attrs()` allocated for `dev`, freed (on drop) while `dev` is still
/// attached to its IOMMU context.
pub struct Dma<'a, T: AsBytes + FromBytes> {
    dev: Attached<'a>,
    cpu: NonNull<T>,
    handle: DmaAddress,
    len: usize,
}

impl<T: AsBytes + FromBytes> Dma<'_, T> {
    /// Returns the memory's DMA address: an IOVA of the device's window.
    #[inline]
    pub fn dma_address(&self) -> DmaAddress {
        self.handle
    }

    /// Returns the number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Returns whether there are no elements; never true, as no empty memory is allocated.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Returns the CPU address of the first element, for C code that shares the memory.
    #[inline]
    pub fn as_mut_ptr(&self) -> *mut T {
        self.cpu.as_ptr()
    }

    /// Reads element `i`; `None` if there is none.
    #[inline]
    pub fn read(&self, i: usize) -> Option<T> {
        if i >= self.len {
            return None;
        }
        // SAFETY: Element `i` lies within the allocation (type invariant), aligned as `T` is
        // (`dma_alloc_attrs()` aligns to a page at least); any bytes are a valid `T`
        // (`FromBytes`). A volatile read races with no Rust write: writes take `&mut self`.
        Some(unsafe { self.cpu.as_ptr().add(i).read_volatile() })
    }

    /// Writes `value` to element `i`; does nothing if there is none, and says so.
    #[inline]
    pub fn write(&mut self, i: usize, value: T) -> bool {
        if i >= self.len {
            return false;
        }
        // SAFETY: As for `read()`; `&mut self` excludes any other CPU access through `self`.
        unsafe { self.cpu.as_ptr().add(i).write_volatile(value) };
        true
    }
}

impl<T: AsBytes + FromBytes> Drop for Dma<'_, T> {
    fn drop(&mut self) {
        let size = self.len * core::mem::size_of::<T>();
        // SAFETY: Allocated for `dev` with this size and these addresses, freed once, here, while
        // `dev` is attached to its IOMMU context (type invariant).
        unsafe {
            bindings::dma_free_attrs(
                self.dev.raw(),
                size,
                self.cpu.as_ptr().cast(),
                self.handle,
                0,
            )
        };
    }
}

// SAFETY: The memory may be used and freed from any thread if its elements may be sent.
unsafe impl<T: AsBytes + FromBytes + Send> Send for Dma<'_, T> {}

// SAFETY: Through `&Dma` the elements are only read, each into a new `T` on the reading thread,
// which is sending it there: sound from several threads for `T: Send`.
unsafe impl<T: AsBytes + FromBytes + Send> Sync for Dma<'_, T> {}

/// A streaming DMA mapping of a buffer of a context device ([`Attached::map`]), which owns the
/// buffer while it is mapped; undone by [`Mapping::unmap`] or when dropped.
///
/// # Invariants
///
/// `addr` maps the `size` bytes of `buf`'s elements for DMA of `dev` in direction `dir`; `buf` is
/// freed only after it is unmapped, which happens (once) while `dev` is still attached to its
/// IOMMU context.
pub struct Mapping<'a, T: AsBytes + FromBytes> {
    dev: Attached<'a>,
    addr: DmaAddress,
    size: usize,
    dir: bindings::dma_data_direction,
    buf: ManuallyDrop<KVec<T>>,
}

impl<T: AsBytes + FromBytes> Mapping<'_, T> {
    /// Returns the buffer's DMA address: an IOVA of the device's window.
    #[inline]
    pub fn dma_address(&self) -> DmaAddress {
        self.addr
    }

    /// Returns the size of the mapping in bytes.
    #[inline]
    pub fn size(&self) -> usize {
        self.size
    }

    /// Unmaps the buffer and gives it back, with what the device wrote to it.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{context_bus::Registration, dma::DataDirection, prelude::*};
    ///
    /// fn receive(bank: &Registration) -> Result<KVec<u8>> {
    ///     let frame = KVec::from_elem(0u8, 256, GFP_KERNEL)?;
    ///     let mapping = bank.attached().map(frame, DataDirection::FromDevice)?;
    ///     // The device writes the frame here.
    ///     Ok(mapping.unmap())
    /// }
    /// # let _ = receive;
    /// ```
    pub fn unmap(self) -> KVec<T> {
        let mut this = ManuallyDrop::new(self);
        this.unmap_dma();
        // SAFETY: `this` is never dropped, so its buffer is taken once, here; unmapped above.
        unsafe { ManuallyDrop::take(&mut this.buf) }
    }

    fn unmap_dma(&mut self) {
        // SAFETY: Mapped for `dev` with these arguments; called once, by `unmap()` or `drop()`,
        // while `dev` is attached to its IOMMU context and before the buffer is freed (type
        // invariant).
        unsafe {
            bindings::dma_unmap_single_attrs(self.dev.raw(), self.addr, self.size, self.dir, 0)
        };
    }
}

impl<T: AsBytes + FromBytes> Drop for Mapping<'_, T> {
    fn drop(&mut self) {
        self.unmap_dma();
        // SAFETY: Unmapped above; `self.buf` is not used again.
        unsafe { ManuallyDrop::drop(&mut self.buf) };
    }
}
