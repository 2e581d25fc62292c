// SPDX-License-Identifier: GPL-2.0

//! IOMMU context devices.
//!
//! A context device stands for one IOMMU context of its parent: its own stream ID, IOMMU group
//! and IOVA space, optionally limited to an IOVA window. A driver whose hardware has several DMA
//! streams creates one per stream while it probes, and uses it with the DMA API like any device;
//! no driver binds to it.
//!
//! C header: [`include/linux/context_bus.h`](srctree/include/linux/context_bus.h)
//!
//! See also `Documentation/driver-api/context-bus.rst`.
//!
//! A context device is never bound to a driver: it is not a [`Bound`] device. What its creator
//! may do with it is tied to the [`Registration`] that owns it instead: DMA memory allocated for
//! it through the registration borrows the registration, so that it is freed while the device is
//! still attached to its IOMMU context.

use crate::{
    bindings,
    device::{self, dynamic, property::FwNode, Bound},
    dma::{Coherent, DmaMask},
    error::from_err_ptr,
    ffi::c_void,
    of,
    prelude::*,
    sync::aref::AlwaysRefCounted,
    transmute::{AsBytes, FromBytes},
    types::Opaque,
};
use core::{
    marker::PhantomData,
    ops::{Deref, Range},
    ptr::{self, NonNull},
};

/// A device on the context device bus: one IOMMU context of its parent.
///
/// Made with [`ContextDevice::create`], which hands out a [`Registration`] that owns it. The
/// device derefs to [`device::Device`], so it serves wherever a device is expected; DMA memory
/// for it is allocated through its [`Registration`].
///
/// # Invariants
///
/// `self.0` is a `struct context_device`, a device on the context device bus.
#[repr(transparent)]
pub struct ContextDevice<Ctx: device::DeviceContext = device::Normal>(
    Opaque<bindings::context_device>,
    PhantomData<Ctx>,
);

impl<Ctx: device::DeviceContext> ContextDevice<Ctx> {
    fn as_raw(&self) -> *mut bindings::context_device {
        self.0.get()
    }
}

impl ContextDevice {
    /// Creates a context device for one IOMMU context of `parent`.
    ///
    /// `node` describes the context: either a node with an `iommu-map` (usually the parent's),
    /// looked up with `fn_id`, or the context's own node with `iommus`. `dma_mask` becomes the
    /// streaming and coherent DMA mask. `iova_window`, if given, is the only IOVA range the DMA
    /// API hands out for the device; it must lie within `dma_mask` and be aligned to the IOVA
    /// granule. An empty `iova_window` is refused with `EINVAL`.
    ///
    /// Returns once the device is fully usable: attached to its IOMMU, masks set, window
    /// reserved. Every refusal is logged against `parent`; the errors are those of
    /// `context_device_create()`.
    ///
    /// The returned [`Registration`] borrows the bound parent, so it cannot outlive the parent's
    /// binding; dropping it destroys the device.
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
    /// fn create_banks<'a>(parent: &'a Device<Bound>) -> Result<KVec<Registration<'a>>> {
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
    /// ```
    pub fn create<'a>(
        parent: &'a device::Device<Bound>,
        node: &FwNode,
        fn_id: u32,
        dma_mask: DmaMask,
        iova_window: Option<Range<u64>>,
    ) -> Result<Registration<'a>> {
        let np = of::Node::from_fwnode(node).ok_or(EINVAL)?;
        // An empty window is a mistake, not a request for none: `None` says that.
        let (iova_start, iova_size) = match iova_window {
            None => (0, 0),
            Some(window) if window.start < window.end => (window.start, window.end - window.start),
            Some(_) => return Err(EINVAL),
        };
        let info = bindings::context_device_info {
            np: np.as_raw(),
            name: ptr::null(),
            fn_id,
            dma_mask: dma_mask.value(),
            iova_start,
            iova_size,
            flags: 0,
        };
        // SAFETY: `parent` is a valid, bound device and `info` a valid description whose node
        // `np` is referenced for the call; the bus takes its own node reference.
        let cdev =
            from_err_ptr(unsafe { bindings::context_device_create(parent.as_raw(), &info) })?;
        Ok(Registration {
            // INVARIANT: `context_device_create()` returned a live context device.
            // SAFETY: Not an error pointer, hence not NULL.
            cdev: unsafe { NonNull::new_unchecked(cdev) },
            _parent: PhantomData,
        })
    }
}

impl<Ctx: device::DeviceContext> AsRef<device::Device<Ctx>> for ContextDevice<Ctx> {
    fn as_ref(&self) -> &device::Device<Ctx> {
        // SAFETY: By the type invariant `self.as_raw()` is a valid `struct context_device`.
        let dev = unsafe { &raw mut (*self.as_raw()).dev };
        // SAFETY: `dev` points to a valid `struct device` in the same context as `self`.
        unsafe { device::Device::from_raw(dev) }
    }
}

// SAFETY: `ContextDevice` is a transparent wrapper of `struct context_device`, whose `dev` is at
// the offset given.
unsafe impl<Ctx: device::DeviceContext> device::AsBusDevice<Ctx> for ContextDevice<Ctx> {
    const OFFSET: usize = core::mem::offset_of!(bindings::context_device, dev);
}

crate::impl_device_context_deref!(unsafe { ContextDevice });
crate::impl_device_context_into_aref!(ContextDevice);

// SAFETY: Instances of `ContextDevice` are always reference-counted through their `dev`.
unsafe impl AlwaysRefCounted for ContextDevice {
    fn inc_ref(&self) {
        // SAFETY: The existence of a shared reference guarantees that the refcount is non-zero.
        unsafe { bindings::get_device(self.as_ref().as_raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: `obj` is a valid context device, so `dev` is a valid `struct device`.
        let dev = unsafe { &raw mut (*obj.as_ref().as_raw()).dev };
        // SAFETY: The safety requirements guarantee that the refcount is non-zero.
        unsafe { bindings::put_device(dev) }
    }
}

impl<Ctx: device::DeviceContext> TryFrom<&device::Device<Ctx>> for &ContextDevice<Ctx> {
    type Error = Error;

    fn try_from(dev: &device::Device<Ctx>) -> Result<Self> {
        // SAFETY: `dev` is a valid device.
        if !unsafe { bindings::dev_is_context_device(dev.as_raw()) } {
            return Err(EINVAL);
        }
        // SAFETY: `dev` is the `dev` of a `struct context_device`.
        let cdev = unsafe { crate::container_of!(dev.as_raw(), bindings::context_device, dev) };
        // SAFETY: `ContextDevice` is a transparent wrapper of `struct context_device`, and the
        // device context is the one of `dev`.
        Ok(unsafe { &*cdev.cast::<ContextDevice<Ctx>>() })
    }
}

// SAFETY: A `ContextDevice` is a device like any other: the driver core makes its use from any
// thread sound.
unsafe impl Send for ContextDevice {}

// SAFETY: As for `Send`.
unsafe impl Sync for ContextDevice {}

/// Ownership of a context device: dropping it destroys the device.
///
/// It borrows the bound parent it was created for, so the device goes before the parent is
/// unbound; keep it in the parent driver's private data.
///
/// The registration derefs to the [`ContextDevice`] for what any device offers, but not to a
/// [`Bound`] device: DMA memory made from a bound device holds only a reference to the device, so
/// it could outlive the registration and be freed after the device has left its IOMMU context.
/// DMA memory comes from the registration instead, and borrows it:
///
/// ```compile_fail,E0505
/// use kernel::{context_bus::Registration, prelude::*};
///
/// fn keep_dma_beyond_the_device(reg: Registration<'_>) -> Result {
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
/// fn bound<'a>(reg: &'a Registration<'_>) -> &'a Device<Bound> {
///     // error[E0308]: mismatched types: expected `&Device<Bound>`
///     reg
/// }
/// ```
///
/// nor outlive the parent it was created for:
///
/// ```compile_fail,E0515
/// use kernel::{
///     context_bus::{ContextDevice, Registration},
///     device::{Bound, Device},
///     dma::DmaMask,
///     faux,
///     prelude::*,
/// };
///
/// fn forever() -> Result<Registration<'static>> {
///     let parent = faux::Registration::new(c"short-lived-parent", None)?;
///     let parent: &faux::Device<Bound> = parent.as_ref();
///     let parent: &Device<Bound> = parent.as_ref();
///     let node = parent.fwnode().ok_or(ENODEV)?;
///     // error[E0515]: cannot return value referencing local variable `parent`
///     ContextDevice::create(parent, node, 0, DmaMask::new::<32>(), None)
/// }
/// ```
///
/// # Invariants
///
/// `cdev` is a live context device made by `context_device_create()`, not destroyed yet.
pub struct Registration<'a> {
    cdev: NonNull<bindings::context_device>,
    _parent: PhantomData<&'a device::Device<Bound>>,
}

impl Registration<'_> {
    /// Returns the device as bound, for the DMA API.
    fn dma_device(&self) -> &device::Device<Bound> {
        // SAFETY: `cdev` is live and attached to its IOMMU context until `self` is dropped (type
        // invariant). No driver ever binds to a context device, so nothing unbinds it either:
        // what `Bound` promises to the DMA API holds until `Drop` destroys the device. Every
        // caller ties what it makes from the bound device to the lifetime of `&self`.
        unsafe { self.deref().as_ref().as_bound() }
    }

    /// Allocates zeroed coherent DMA memory for one `T`, which lives no longer than the
    /// registration.
    pub fn dma_zeroed<T: AsBytes + FromBytes>(
        &self,
        gfp: crate::alloc::Flags,
    ) -> Result<Dma<'_, T>> {
        Ok(Dma {
            buf: Coherent::zeroed(self.dma_device(), gfp)?,
            _registration: PhantomData,
        })
    }

    /// Allocates zeroed coherent DMA memory for `len` elements of `T`, which lives no longer than
    /// the registration.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{context_bus::Registration, prelude::*};
    ///
    /// fn ring(bank: &Registration<'_>) -> Result {
    ///     let ring = bank.dma_zeroed_slice::<u32>(64, GFP_KERNEL)?;
    ///     pr_info!("ring of {} entries at IOVA {:#x}\n", ring.len(), ring.dma_address());
    ///     Ok(())
    /// }
    /// ```
    pub fn dma_zeroed_slice<T: AsBytes + FromBytes>(
        &self,
        len: usize,
        gfp: crate::alloc::Flags,
    ) -> Result<Dma<'_, [T]>> {
        Ok(Dma {
            buf: Coherent::zeroed_slice(self.dma_device(), len, gfp)?,
            _registration: PhantomData,
        })
    }

    /// Returns the id of the device's IOMMU group, as in `/sys/kernel/iommu_groups/<id>`.
    ///
    /// Each context device has a group of its own unless several share a stream (see
    /// `Documentation/driver-api/context-bus.rst`).
    pub fn iommu_group_id(&self) -> u32 {
        // A live context device is in an IOMMU group from its creation to its destruction (type
        // invariant): `None` does not happen.
        crate::iommu::group::Group::of(self.as_ref()).map_or(u32::MAX, |group| group.id())
    }
}

/// Coherent DMA memory of a context device, which cannot outlive its [`Registration`].
///
/// It derefs to the [`Coherent`] allocation, which cannot be moved out of it.
///
/// # Invariants
///
/// `buf` was allocated for the device of a [`Registration`] borrowed for `'r`: the device is
/// attached to its IOMMU context for as long as `self` lives, and `buf` is freed (on drop)
/// before the registration can destroy the device.
pub struct Dma<'r, T: crate::ptr::KnownSize + ?Sized> {
    buf: Coherent<T>,
    _registration: PhantomData<&'r Registration<'r>>,
}

impl<T: crate::ptr::KnownSize + ?Sized> Deref for Dma<'_, T> {
    type Target = Coherent<T>;

    fn deref(&self) -> &Coherent<T> {
        &self.buf
    }
}

impl Deref for Registration<'_> {
    type Target = ContextDevice;

    fn deref(&self) -> &ContextDevice {
        // SAFETY: By the type invariant `cdev` is live until `self` is dropped;
        // `ContextDevice` is a transparent wrapper of `struct context_device`.
        unsafe { &*self.cdev.as_ptr().cast::<ContextDevice>() }
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `cdev` is live and destroyed only here. Everything made
        // from the device as bound borrows `self`, so it is gone already.
        unsafe { bindings::context_device_destroy(self.cdev.as_ptr()) };
    }
}

// SAFETY: The device may be destroyed from any thread.
unsafe impl Send for Registration<'_> {}

// SAFETY: `Registration` offers only shared access to a `Sync` device.
unsafe impl Sync for Registration<'_> {}

/// Flag of [`Info::flags`]: accept a context device whose IOMMU group has an identity domain.
pub const ALLOW_IDENTITY: u32 = bindings::CONTEXT_DEVICE_ALLOW_IDENTITY;

/// Flag of [`Info::flags`]: accept sharing the IOMMU group with context devices that set it too
/// and have the same window (`CONTEXT_DEVICE_SHARE_GROUP`).
pub const SHARE_GROUP: u32 = bindings::CONTEXT_DEVICE_SHARE_GROUP;

/// What `context_device_create()` is asked for, `struct context_device_info`, for the bus that
/// implements it: the pointers checked for NULL.
pub struct Info<'a> {
    /// The node that describes the context.
    pub np: Option<&'a of::Node>,
    /// The device's name; `None` for the default.
    pub name: Option<&'a CStr>,
    /// The function id: the `iommu-map` input id.
    pub fn_id: u32,
    /// The DMA mask.
    pub dma_mask: u64,
    /// The start of the IOVA window.
    pub iova_start: u64,
    /// The size of the IOVA window; 0 for none.
    pub iova_size: u64,
    /// [`ALLOW_IDENTITY`], [`SHARE_GROUP`], both or 0.
    pub flags: u32,
}

/// The implementation of the context device bus behind the C API of
/// `include/linux/context_bus.h`, which [`context_bus_c_api!`](crate::context_bus_c_api)
/// defines on top of it.
///
/// The kernel crate uses the bus through that C API; the bus is built-in code of its own.
pub trait Provider: 'static {
    /// The bus's data for each context device.
    type Data: Send + Sync;

    /// Returns the device type of every context device.
    fn device_type() -> &'static dynamic::Type<Self::Data>;

    /// `context_device_create()`: creates a context device of `parent` as `info` says.
    fn create(
        parent: Option<&device::Device>,
        info: Option<&Info<'_>>,
    ) -> Result<dynamic::Added<Self::Data>>;

    /// `context_device_destroy()`: destroys a context device made by [`Provider::create`].
    fn destroy(cdev: dynamic::Added<Self::Data>);
}

// C sees a context device as its `dev`: the pointers are the same.
const _: () = assert!(core::mem::offset_of!(bindings::context_device, dev) == 0);

/// The C API of the context device bus, on top of a [`Provider`]; see
/// [`context_bus_c_api!`](crate::context_bus_c_api).
#[doc(hidden)]
pub mod c_api {
    use super::*;

    /// `context_device_create()`.
    ///
    /// # Safety
    ///
    /// `parent` and `info` must be NULL or valid for the call; a non-NULL `info.np` must be a
    /// referenced node and a non-NULL `info.name` a NUL-terminated string.
    pub unsafe fn create<P: Provider>(
        parent: *mut bindings::device,
        info: *const bindings::context_device_info,
    ) -> *mut bindings::context_device {
        // SAFETY: `parent` is NULL or a valid device (caller).
        let parent = NonNull::new(parent).map(|p| unsafe { device::Device::from_raw(p.as_ptr()) });
        // SAFETY: `info` is NULL or valid for the call (caller).
        let info = unsafe { info.as_ref() }.map(|info| Info {
            // SAFETY: A non-NULL node is referenced for the call (caller).
            np: NonNull::new(info.np).map(|np| unsafe { of::Node::from_raw(np.as_ptr()) }),
            // SAFETY: A non-NULL name is a NUL-terminated string (caller).
            name: NonNull::new(info.name.cast_mut())
                .map(|n| unsafe { CStr::from_char_ptr(n.as_ptr()) }),
            fn_id: info.fn_id,
            dma_mask: info.dma_mask,
            iova_start: info.iova_start,
            iova_size: info.iova_size,
            flags: info.flags,
        });
        match P::create(parent, info.as_ref()) {
            Ok(cdev) => cdev.into_raw().as_ptr().cast(),
            Err(e) => e.to_ptr(),
        }
    }

    /// `context_device_destroy()`.
    ///
    /// # Safety
    ///
    /// `cdev` must be NULL or a device from `context_device_create()` not destroyed yet.
    pub unsafe fn destroy<P: Provider>(cdev: *mut bindings::context_device) {
        let Some(dev) = NonNull::new(cdev.cast::<bindings::device>()) else {
            return;
        };
        // SAFETY: `dev` is a live device; a context device came from `create()` through
        // `Added::into_raw()` and is given back once (caller).
        if let Some(cdev) = unsafe { dynamic::Added::from_raw(P::device_type(), dev) } {
            P::destroy(cdev);
        }
    }

    unsafe extern "C" fn destroy_action<P: Provider>(cdev: *mut c_void) {
        // SAFETY: Registered by `devm_create()` for a device of `create()`, destroyed only here.
        unsafe { destroy::<P>(cdev.cast()) };
    }

    /// `devm_context_device_create()`.
    ///
    /// # Safety
    ///
    /// As for [`create`]; `parent` must be bound to a driver.
    pub unsafe fn devm_create<P: Provider>(
        parent: *mut bindings::device,
        info: *const bindings::context_device_info,
    ) -> *mut bindings::context_device {
        // SAFETY: Guaranteed by the caller.
        let cdev = unsafe { create::<P>(parent, info) };
        if let Err(e) = from_err_ptr(cdev) {
            return e.to_ptr();
        }
        // SAFETY: `parent` is a bound device; on failure the action runs at once.
        let ret = unsafe {
            bindings::devm_add_action_or_reset(parent, Some(destroy_action::<P>), cdev.cast())
        };
        if ret != 0 {
            return Error::from_errno(ret).to_ptr();
        }
        cdev
    }

    /// `dev_is_context_device()`.
    ///
    /// # Safety
    ///
    /// `dev` must be a valid device.
    pub unsafe fn is_context_device<P: Provider>(dev: *const bindings::device) -> bool {
        // SAFETY: `dev` is a valid device (caller).
        P::device_type().owns(unsafe { device::Device::from_raw(dev.cast_mut()) })
    }
}

/// Defines the C API of the context device bus (`include/linux/context_bus.h`) for the
/// [`Provider`] `$provider`: `context_device_create()`, `context_device_destroy()`,
/// `devm_context_device_create()` and `dev_is_context_device()`, each checked against its C
/// prototype.
///
/// The bus itself defines `context_device_bus_type`, a [`bus::Type`](crate::bus::Type).
#[macro_export]
macro_rules! context_bus_c_api {
    ($provider:ty) => {
        // The functions have the signatures of their C prototypes.
        const _: () = {
            if true {
                $crate::bindings::context_device_create
            } else {
                context_device_create
            };
            if true {
                $crate::bindings::devm_context_device_create
            } else {
                devm_context_device_create
            };
            if true {
                $crate::bindings::context_device_destroy
            } else {
                context_device_destroy
            };
            if true {
                $crate::bindings::dev_is_context_device
            } else {
                dev_is_context_device
            };
        };

        /// C API: see `include/linux/context_bus.h`.
        ///
        /// # Safety
        ///
        /// `parent` and `info` must be NULL or valid, and `parent` bound to a driver; the device
        /// may outlive that binding while DMA through it goes on.
        #[no_mangle]
        pub unsafe extern "C" fn context_device_create(
            parent: *mut $crate::bindings::device,
            info: *const $crate::bindings::context_device_info,
        ) -> *mut $crate::bindings::context_device {
            // SAFETY: Guaranteed by the caller.
            unsafe { $crate::context_bus::c_api::create::<$provider>(parent, info) }
        }

        /// C API: see `include/linux/context_bus.h`.
        ///
        /// # Safety
        ///
        /// As for `context_device_create()`; `parent` must be bound to a driver.
        #[no_mangle]
        pub unsafe extern "C" fn devm_context_device_create(
            parent: *mut $crate::bindings::device,
            info: *const $crate::bindings::context_device_info,
        ) -> *mut $crate::bindings::context_device {
            // SAFETY: Guaranteed by the caller.
            unsafe { $crate::context_bus::c_api::devm_create::<$provider>(parent, info) }
        }

        /// C API: see `include/linux/context_bus.h`.
        ///
        /// # Safety
        ///
        /// `cdev` must be NULL or a device from `context_device_create()` not destroyed yet.
        #[no_mangle]
        pub unsafe extern "C" fn context_device_destroy(
            cdev: *mut $crate::bindings::context_device,
        ) {
            // SAFETY: Guaranteed by the caller.
            unsafe { $crate::context_bus::c_api::destroy::<$provider>(cdev) }
        }

        /// C API: see `include/linux/context_bus.h`.
        ///
        /// # Safety
        ///
        /// `dev` must be valid.
        #[no_mangle]
        pub unsafe extern "C" fn dev_is_context_device(
            dev: *const $crate::bindings::device,
        ) -> bool {
            // SAFETY: Guaranteed by the caller.
            unsafe { $crate::context_bus::c_api::is_context_device::<$provider>(dev) }
        }
    };
}

/// Returns the number of devices on the context device bus.
#[cfg(CONFIG_CONTEXT_DEVICE_BUS_KUNIT_TEST)]
fn bus_device_count() -> usize {
    use crate::ffi::{c_int, c_void};

    unsafe extern "C" fn count(_dev: *mut bindings::device, data: *mut c_void) -> c_int {
        // SAFETY: `data` is the counter passed below.
        unsafe { *data.cast::<usize>() += 1 };
        0
    }
    let mut n = 0usize;
    // SAFETY: The bus is registered; `count` gets `n` back.
    let ret = unsafe {
        bindings::bus_for_each_dev(
            &bindings::context_device_bus_type,
            ptr::null_mut(),
            (&raw mut n).cast(),
            Some(count),
        )
    };
    if ret != 0 {
        return usize::MAX;
    }
    n
}

#[cfg(CONFIG_CONTEXT_DEVICE_BUS_KUNIT_TEST)]
#[kunit_tests(rust_context_bus)]
mod tests {
    use super::*;
    use crate::{faux, iommu::group::Group, sync::aref::ARef};

    /// QEMU virt's PCIe host bridge maps every requester ID to the SMMU stream of the same
    /// number through its `iommu-map`; 0x300 is a bus number no device uses.
    const PCIE_COMPATIBLE: &CStr = c"pci-host-ecam-generic";
    const FN_ID: u32 = 0x300;

    /// What each test starts from: the map provider, a parent, the bus's device count.
    struct Fixture {
        /// The node whose `iommu-map` the tests use.
        provider: ARef<of::Node>,
        parent: faux::Registration,
        before: usize,
    }

    impl Fixture {
        fn new() -> Result<Self> {
            Ok(Self {
                provider: of::Node::find_compatible(PCIE_COMPATIBLE).ok_or(ENODEV)?,
                parent: faux::Registration::new(c"rust-context-bus-test", None)?,
                before: bus_device_count(),
            })
        }

        /// Creates the context device of function `FN_ID`, with `window`.
        fn create(&self, window: Option<Range<u64>>) -> Result<Registration<'_>> {
            let parent: &faux::Device<Bound> = self.parent.as_ref();
            let node = self.provider.fwnode();
            ContextDevice::create(parent.as_ref(), node, FN_ID, DmaMask::new::<32>(), window)
        }
    }

    #[test]
    fn registration_owns_the_device() -> Result {
        let f = Fixture::new()?;
        let reg = f.create(Some(0x1000_0000..0x2000_0000))?;
        assert_eq!(bus_device_count(), f.before + 1);
        let dev: &device::Device = reg.as_ref();
        assert_eq!(dev.name().to_bytes(), b"rust-context-bus-test:ctx.768");
        assert!(Group::of(dev).is_some());
        let again: &ContextDevice = dev.try_into()?;
        assert_eq!(again.as_raw(), reg.as_raw());

        drop(reg);
        assert_eq!(bus_device_count(), f.before);
        Ok(())
    }

    #[test]
    fn dma_memory_lies_in_the_window() -> Result {
        let f = Fixture::new()?;
        let window = 0x1000_0000..0x2000_0000;
        let reg = f.create(Some(window.clone()))?;
        let ring = reg.dma_zeroed_slice::<u32>(1024, GFP_KERNEL)?;
        let one = reg.dma_zeroed::<u64>(GFP_KERNEL)?;
        for iova in [ring.dma_address(), one.dma_address()] {
            assert!(window.contains(&iova));
        }
        assert_eq!(ring.len(), 1024);
        // The memory goes before the device: the borrow checker sees to it.
        drop((ring, one));
        drop(reg);
        assert_eq!(bus_device_count(), f.before);
        Ok(())
    }

    /// Real DMA through the SMMU, by QEMU's edu devices (`<kunit/qemu_edu.h>`): memory from
    /// `dma_zeroed_slice()` lies in the window, and the registration's own stream reads and
    /// writes it there, while the stream of another registration reaches nothing at that IOVA.
    /// The memory is 64 KiB, and its first page is tried: the helper's own transfers through the
    /// other registration take the top page of its space. Skipped without two edu devices.
    #[cfg(CONFIG_IOMMU_KUNIT_EDU)]
    #[test]
    fn dma_memory_is_reached_by_its_stream_only() -> Result {
        const LEN: usize = bindings::QEMU_EDU_DMA_MAX as usize;
        // SAFETY: `kunit_get_current_test()` has no precondition.
        let test = unsafe { bindings::kunit_get_current_test() };
        // SAFETY: `test` is the running test: the call may end its thread (a skip, without two
        // edu devices), with nothing of Rust's live yet. Otherwise it returns a non-NULL pointer
        // into a static array of the helper's, written once before it is handed out and never
        // again, so a shared `'static` reference to it is sound.
        let edus = [0, 1].map(|i| unsafe { &*bindings::qemu_edu_kunit_get(test, i) });
        let f = Fixture::new()?;
        // Both streams come through QEMU's PCIe host, the provider of `Fixture`.
        assert!(edus.iter().all(|edu| edu.host == f.provider.as_raw()));
        let parent: &faux::Device<Bound> = f.parent.as_ref();
        let window = 0x1000_0000..0x2000_0000;
        let [a, b] = edus.map(|edu| {
            ContextDevice::create(
                parent.as_ref(),
                f.provider.fwnode(),
                edu.rid,
                DmaMask::new::<32>(),
                Some(window.clone()),
            )
        });
        let (a, b) = (a?, b?);
        let buf = a.dma_zeroed_slice::<u8>(64 * 1024, GFP_KERNEL)?;
        assert!(window.contains(&buf.dma_address()));

        let reach = |edu: &bindings::qemu_edu, reg: &Registration<'_>| {
            let dev: &device::Device = reg.as_ref();
            // SAFETY: `test` is the running test, `edu` one of its edu devices and `dev` a live
            // context device with a DMA domain. The edu and the helper write the first `LEN`
            // (less than `buf.len()`) bytes at `buf.as_mut_ptr()`, which stays allocated
            // across the call, and no Rust reference to them exists meanwhile. A failed KUnit
            // assertion in the helper ends the test's thread: `f`, `a`, `b` and `buf` then leak,
            // which is safe.
            unsafe {
                bindings::qemu_edu_kunit_reach(
                    test,
                    edu,
                    dev.as_raw(),
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
        drop((a, b));
        assert_eq!(bus_device_count(), f.before);
        Ok(())
    }

    #[test]
    fn create_refuses_a_window_outside_the_mask() -> Result {
        let f = Fixture::new()?;
        assert!(matches!(f.create(Some(0..0x2_0000_0000)), Err(e) if e == ERANGE));
        assert_eq!(bus_device_count(), f.before);
        Ok(())
    }

    /// Fails the `n`-th fault point of `f`'s allocations (0: none) and tells whether it was
    /// reached.
    #[cfg(CONFIG_FAULT_INJECTION)]
    fn with_fault<T>(n: u32, f: impl FnOnce() -> T) -> (T, bool) {
        let task = crate::task::Task::current_raw();
        // SAFETY: `task` is the current task, alive during the call; only it reads `fail_nth`.
        unsafe { (*task).fail_nth = n };
        let ret = f();
        // SAFETY: As above.
        let fired = n != 0 && unsafe { (*task).fail_nth } == 0;
        // SAFETY: As above.
        unsafe { (*task).fail_nth = 0 };
        (ret, fired)
    }

    /// Fails the `n`-th allocation of a `create()`, for n = 1, 2, ... until a create meets
    /// no fault: every failed create leaves the bus as it was and the stream free for the next.
    /// Meaningful where failslab and fail_page_alloc fail `GFP_KERNEL` allocations
    /// (`make test-debug`); elsewhere no fault point fires and it checks one create.
    #[cfg(CONFIG_FAULT_INJECTION)]
    #[test]
    fn create_survives_every_fault() -> Result {
        let f = Fixture::new()?;
        let create = || f.create(Some(0x1000_0000..0x2000_0000));

        let (mut refused, mut absorbed, mut n) = (0u32, 0u32, 1u32);
        loop {
            // An injected fault may make arm-smmu-v3 fail a first domain attach, which the
            // IOMMU core warns about: tell the test harness (`<kunit/expect_stack_dump.h>`).
            crate::pr_info!(
                "context-bus-kunit: expect stack dump: create_survives_every_fault: \
                 an injected fault may make arm-smmu-v3 fail a first domain attach\n"
            );
            let (reg, fired) = with_fault(n, create);
            crate::pr_info!("context-bus-kunit: end of expected stack dump\n");
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
        crate::pr_info!(
            "rust_context_bus: {} fault points: {} refused, {} absorbed\n",
            n - 1,
            refused,
            absorbed
        );
        assert_eq!(bus_device_count(), f.before);
        Ok(())
    }

    #[test]
    fn create_refuses_an_empty_window() -> Result {
        let f = Fixture::new()?;
        #[expect(clippy::reversed_empty_ranges)]
        let windows = [0x1000_0000..0x1000_0000, 0x2000_0000..0x1000_0000];
        for window in windows {
            assert!(matches!(f.create(Some(window)), Err(e) if e == EINVAL));
        }
        assert_eq!(bus_device_count(), f.before);
        Ok(())
    }
}
