// SPDX-License-Identifier: GPL-2.0

//! Buses defined in Rust.
//!
//! A bus is a `struct bus_type` that the driver core keeps a list of devices (and drivers) for.
//! [`Type`] is one, defined as an immutable `static` whose callbacks are the methods of an
//! [`Operations`] implementation; C code can name it like any bus if the static is
//! `#[no_mangle]` and declared `extern` in a C header.
//!
//! C header: [`include/linux/device/bus.h`](srctree/include/linux/device/bus.h)

use crate::{
    bindings,
    device::Device,
    error::{from_result, to_result},
    ffi::{c_char, c_int},
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Release},
        lock::{mutex::MutexBackend, Backend},
    },
    types::Opaque,
};
use core::{fmt, marker::PhantomData, ops::RangeInclusive};

/// The callbacks of a bus.
///
/// Each is called by the driver core (or the IOMMU core) for a device on the bus. The defaults
/// do what the driver core does for a bus without the callback.
pub trait Operations: 'static {
    /// Returns the bus these are the callbacks of: the one `static` [`Type`] of `Self`.
    fn bus() -> &'static Type<Self>
    where
        Self: Sized;

    /// Returns whether a driver named `driver` may bind to `dev` (`match`). By default every
    /// driver of the bus matches every device.
    fn match_driver(_dev: &Device, _driver: &CStr) -> bool {
        true
    }

    /// Adds the bus's variables to a uevent of `dev` (`uevent`). By default none.
    fn uevent(_dev: &Device, _env: &mut UeventEnv) -> Result {
        Ok(())
    }

    /// Sets up the DMA of `dev`: its IOMMU, its addressable ranges (`dma_configure`).
    ///
    /// Called before a driver probes the device, and by the IOMMU core when it probes a device
    /// that has none; only for a device on [`Operations::bus`] (the trampoline refuses others
    /// with `ENODEV`). The calls of one bus are serialised, so `config` may change the device's
    /// DMA configuration. By default nothing is configured.
    fn dma_configure(_dev: &Device, _config: &mut DmaConfig<'_>) -> Result {
        Ok(())
    }
}

/// A bus type, `struct bus_type`, whose callbacks are those of `T`.
///
/// # Invariants
///
/// `self.raw` is a `bus_type` whose callbacks are the trampolines of `T`; it never changes.
/// `self.dma_config_lock` is initialised once `self.registered` is 1, which [`Type::register`] sets
/// before the bus is registered.
///
/// # Examples
///
/// ```
/// use kernel::{bus, device::Device, prelude::*};
///
/// struct Widgets;
///
/// impl bus::Operations for Widgets {
///     fn bus() -> &'static bus::Type<Self> {
///         &WIDGET_BUS
///     }
///
///     fn match_driver(_dev: &Device, driver: &CStr) -> bool {
///         driver.to_bytes().starts_with(b"widget")
///     }
/// }
///
/// static WIDGET_BUS: bus::Type<Widgets> = bus::Type::new(c"widget");
///
/// // A bus is not unregistered: only built-in code defines one, at an initcall.
/// fn widget_bus_init() -> Result {
///     // SAFETY: `WIDGET_BUS` is a static of built-in code, never freed.
///     unsafe { WIDGET_BUS.register() }
/// }
/// # let _ = widget_bus_init;
/// ```
///
/// A bus is told from another by its address: the `struct bus_type` is [`Opaque`], so a `Type`
/// is never promoted to a constant, and two buses with the same name are never merged into one
/// object. A bus must be a `static`:
///
/// ```compile_fail,E0515
/// use kernel::bus;
///
/// struct Widgets;
/// impl bus::Operations for Widgets {
///     fn bus() -> &'static bus::Type<Self> {
///         &OTHER_BUS
///     }
/// }
///
/// static OTHER_BUS: bus::Type<Widgets> = bus::Type::new(c"other");
/// const WIDGET_BUS: bus::Type<Widgets> = bus::Type::new(c"widget");
///
/// fn widget_bus() -> &'static bus::Type<Widgets> {
///     // error[E0515]: cannot return reference to temporary value
///     &WIDGET_BUS
/// }
/// ```
#[repr(C)]
pub struct Type<T: Operations> {
    raw: Opaque<bindings::bus_type>,
    /// Serialises [`Operations::dma_configure`] for the bus's devices: the driver core (before a
    /// probe) and the IOMMU core (when it probes a device) may call it at the same time.
    dma_config_lock: Opaque<bindings::mutex>,
    /// Set by [`Type::register`] once the lock is initialised.
    registered: Atomic<i32>,
    _ops: PhantomData<fn() -> T>,
}

// SAFETY: The `bus_type` is never changed after its constant initialisation (type invariant), and
// the driver core only reads it: it keeps a bus's mutable state in a `subsys_private` of its own.
// The mutex is made to be shared between threads.
unsafe impl<T: Operations> Sync for Type<T> {}

impl<T: Operations> Type<T> {
    /// Makes a bus type named `name` (the directory in `/sys/bus`).
    pub const fn new(name: &'static CStr) -> Self {
        // INVARIANT: The callbacks are the trampolines of `T`; `register()` initialises the lock.
        Self {
            raw: Opaque::new(bindings::bus_type {
                name: crate::str::as_char_ptr_in_const_context(name),
                match_: Some(match_callback::<T>),
                uevent: Some(uevent_callback::<T>),
                dma_configure: Some(dma_configure_callback::<T>),
                ..pin_init::zeroed()
            }),
            dma_config_lock: Opaque::uninit(),
            registered: Atomic::new(0),
            _ops: PhantomData,
        }
    }

    /// Returns the raw `struct bus_type` pointer.
    #[inline]
    pub fn as_raw(&self) -> *const bindings::bus_type {
        self.raw.get()
    }

    /// Registers the bus with the driver core (`bus_register()`).
    ///
    /// A bus stays registered: built-in code registers it once, at an initcall (see
    /// [`initcall!`](crate::initcall!)). There is no unregistration.
    ///
    /// # Safety
    ///
    /// `self` must never be freed: it must be a `static` of built-in code, not of a module (whose
    /// statics go at `rmmod`, while the driver core would still point to them). It must be
    /// registered once.
    pub unsafe fn register(&'static self) -> Result {
        let key = crate::static_lock_class!();
        // SAFETY: The lock is initialised once, here, before the bus is registered, so before the
        // bus has a device whose `dma_configure` could take it; the name and the key are statics.
        unsafe {
            MutexBackend::init(
                self.dma_config_lock.get(),
                c"bus::Type::dma_config_lock".as_char_ptr(),
                key.as_ptr(),
            )
        };
        // INVARIANT: The lock is initialised.
        self.registered.store(1, Release);
        // SAFETY: `self.raw` is a valid bus type that is never freed (caller), registered once.
        to_result(unsafe { bindings::bus_register(self.as_raw()) })
    }

    /// Returns whether `dev` is on this bus.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{bus, device::{Bound, Device}, faux, prelude::*};
    ///
    /// struct Widgets;
    /// impl bus::Operations for Widgets {
    ///     fn bus() -> &'static bus::Type<Self> {
    ///         &WIDGET_BUS
    ///     }
    /// }
    ///
    /// static WIDGET_BUS: bus::Type<Widgets> = bus::Type::new(c"widget");
    ///
    /// // A faux device is on the faux bus, not on the widget bus.
    /// let reg = faux::Registration::new(c"bus-contains-doctest", None)?;
    /// let dev: &faux::Device<Bound> = reg.as_ref();
    /// let dev: &Device<Bound> = dev.as_ref();
    /// assert!(!WIDGET_BUS.contains(dev));
    /// # Ok::<(), Error>(())
    /// ```
    #[inline]
    pub fn contains(&self, dev: &Device) -> bool {
        // SAFETY: `dev` is a valid device; its `bus` is set before it is added and stays.
        core::ptr::eq(unsafe { (*dev.as_raw()).bus }, self.as_raw())
    }
}

unsafe extern "C" fn match_callback<T: Operations>(
    dev: *mut bindings::device,
    drv: *const bindings::device_driver,
) -> c_int {
    // SAFETY: The driver core passes a valid device, kept for the call.
    let dev = unsafe { Device::from_raw(dev) };
    // SAFETY: The driver core passes a valid, registered driver, whose name is a NUL-terminated
    // string that lives as long as the driver.
    let name = unsafe { CStr::from_char_ptr((*drv).name) };
    T::match_driver(dev, name).into()
}

unsafe extern "C" fn uevent_callback<T: Operations>(
    dev: *const bindings::device,
    env: *mut bindings::kobj_uevent_env,
) -> c_int {
    // SAFETY: The driver core passes a valid device, kept for the call; `Device` only offers
    // access that is sound through a shared reference.
    let dev = unsafe { Device::from_raw(dev.cast_mut()) };
    // SAFETY: The driver core passes a valid environment that only this call uses.
    let env = unsafe { &mut *env.cast::<UeventEnv>() };
    from_result(|| T::uevent(dev, env).map(|()| 0))
}

unsafe extern "C" fn dma_configure_callback<T: Operations>(dev: *mut bindings::device) -> c_int {
    // SAFETY: The driver core or the IOMMU core passes a valid device, kept for the call.
    let dev = unsafe { Device::from_raw(dev) };
    let bus = T::bus();
    // Only the bus's own devices are configured, once the bus is registered.
    if !bus.contains(dev) || bus.registered.load(Acquire) == 0 {
        return ENODEV.to_errno();
    }
    let lock = bus.dma_config_lock.get();
    // SAFETY: The lock is initialised: `registered` is set (type invariant of `Type`).
    let () = unsafe { MutexBackend::lock(lock) };
    // INVARIANT: In `dma_configure`, under the bus's lock.
    let mut config = DmaConfig {
        dev,
        _not_send: PhantomData,
    };
    let ret = from_result(|| T::dma_configure(dev, &mut config).map(|()| 0));
    // SAFETY: Taken above, by this thread; a mutex keeps no guard state (`()`).
    unsafe { MutexBackend::unlock(lock, &()) };
    ret
}

/// The environment of a uevent being built, `struct kobj_uevent_env`.
///
/// # Invariants
///
/// A `&mut UeventEnv` is a valid environment, used by nothing else for the reference's lifetime.
///
/// # Examples
///
/// ```
/// use kernel::{bus, device::Device, prelude::*};
///
/// struct Widgets;
///
/// static WIDGET_BUS: bus::Type<Widgets> = bus::Type::new(c"widget");
///
/// impl bus::Operations for Widgets {
///     fn bus() -> &'static bus::Type<Self> {
///         &WIDGET_BUS
///     }
///
///     fn uevent(dev: &Device, env: &mut bus::UeventEnv) -> Result {
///         env.add_var(fmt!("WIDGET_NAME={}", dev.name()))
///     }
/// }
/// ```
#[repr(transparent)]
pub struct UeventEnv(bindings::kobj_uevent_env);

impl UeventEnv {
    /// Adds the variable `args` (formatted as `NAME=value`) to the uevent (`add_uevent_var()`).
    ///
    /// Fails with `ENOMEM` if the uevent has no room left.
    pub fn add_var(&mut self, args: fmt::Arguments<'_>) -> Result {
        // SAFETY: `self.0` is a valid environment we may change (type invariant); `%pA` formats
        // the `fmt::Arguments` it is given a pointer to, which lives for the call.
        to_result(unsafe {
            bindings::add_uevent_var(
                &mut self.0,
                c"%pA".as_char_ptr(),
                (&raw const args).cast::<c_char>(),
            )
        })
    }
}

/// The DMA configuration of a device, writable from its bus's `dma_configure` only.
///
/// # Invariants
///
/// Exists only during an [`Operations::dma_configure`] call for `dev`, under its bus's lock: no
/// other `dma_configure` call of the bus changes the device's DMA configuration concurrently, and
/// the device is not used for DMA yet (the driver core configures DMA before probing a driver;
/// the IOMMU core before the device's first use).
///
/// # Examples
///
/// ```
/// use kernel::{bus, device::Device, prelude::*};
///
/// struct Widgets;
///
/// static WIDGET_BUS: bus::Type<Widgets> = bus::Type::new(c"widget");
///
/// impl bus::Operations for Widgets {
///     fn bus() -> &'static bus::Type<Self> {
///         &WIDGET_BUS
///     }
///
///     // Each widget may only use the first 4 GiB of IOVA.
///     fn dma_configure(_dev: &Device, config: &mut bus::DmaConfig<'_>) -> Result {
///         config.set_iova_window(0..=u64::from(u32::MAX))
///     }
/// }
/// ```
pub struct DmaConfig<'a> {
    dev: &'a Device,
    _not_send: PhantomData<*mut ()>,
}

impl DmaConfig<'_> {
    /// Configures the device's DMA from the device tree node `np` (`of_dma_configure_id()`):
    /// its IOMMU, looked up through `np`'s `iommu-map` with `id` if given, else through `np`'s
    /// own `iommus`; and the range map of `np`'s `dma-ranges`.
    ///
    /// `force_dma` configures DMA even if the node's parents say nothing about it.
    #[cfg(CONFIG_OF)]
    pub fn of_configure(
        &mut self,
        np: &crate::of::Node,
        force_dma: bool,
        id: Option<u32>,
    ) -> Result {
        let id = id.as_ref().map_or(core::ptr::null(), core::ptr::from_ref);
        // SAFETY: `self.dev` is valid and `np` referenced; nothing else changes the device's DMA
        // configuration concurrently (type invariant). `id` is NULL or points to a `u32` that
        // lives for the call.
        to_result(unsafe {
            bindings::of_dma_configure_id(self.dev.as_raw(), np.as_raw(), force_dma, id)
        })
    }

    /// Confines the device's DMA addresses to `window` (`iommu_set_iova_window()`): the IOMMU
    /// core reports every IOVA outside it as reserved, gives the device a DMA domain, and
    /// dma-iommu never hands the outside out. The window holds for the device's IOMMU group,
    /// whose DMA domain refuses a device with another window. Calling it again before the device
    /// joins an IOMMU group replaces the window; after, only the same window is accepted.
    ///
    /// Fails with `EINVAL` for an empty window, with `ERANGE` if the window and the range map
    /// the node's `dma-ranges` gave do not meet, with `ENODEV` if the device has no IOMMU set up
    /// (or the kernel no IOMMU core), and with `EBUSY` if the device is already in an IOMMU group
    /// with another window.
    pub fn set_iova_window(&mut self, window: RangeInclusive<u64>) -> Result {
        if window.is_empty() {
            return Err(EINVAL);
        }
        #[cfg(CONFIG_IOMMU_API)]
        {
            // SAFETY: `self.dev` is valid, and its DMA configuration ours to change (type
            // invariant); the function takes the IOMMU core's probe lock for the fields it
            // writes.
            to_result(unsafe {
                bindings::iommu_set_iova_window(self.dev.as_raw(), *window.start(), *window.end())
            })
        }
        // As the C stub: without the IOMMU core, nothing can confine a device.
        #[cfg(not(CONFIG_IOMMU_API))]
        Err(ENODEV)
    }
}
