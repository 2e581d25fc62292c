// SPDX-License-Identifier: GPL-2.0

//! Devices that Rust code makes at run time, on a bus it defines.
//!
//! A bus written in Rust (see [`bus`]) creates its devices itself: it allocates
//! a `struct device` together with its own data `T`, initialises it, sets its parent, bus, type,
//! DMA masks, node and name, adds it, and at the end deletes it; the last reference frees it.
//! This module does each step in the order the driver core requires:
//!
//! - [`Builder`] is a device initialised but not added, owning the reference
//!   `device_initialize()` gives; dropping it frees the device.
//! - [`Added`] is a device added to the driver core, owning the creator's reference; dropping
//!   it deletes the device and drops the reference.
//! - [`Type`] is the `struct device_type` shared by all devices with data `T`: its `release`
//!   frees the allocation, and it finds the data of a device of its type.
//!
//! C header: [`include/linux/device.h`](srctree/include/linux/device.h)

use crate::{
    bindings, bus,
    device::{attribute::GroupList, property::FwNode, Device},
    error::to_result,
    prelude::*,
    sync::aref::ARef,
    types::Opaque,
};
use core::{marker::PhantomData, ptr::NonNull};

/// The allocation of a device made by this module.
///
/// The driver core and the DMA layer write to `dev`, `dma_mask` and `dma_parms` through the
/// pointers the device holds, hence [`Opaque`].
#[repr(C)]
#[pin_data]
struct Object<T> {
    dev: Opaque<bindings::device>,
    dma_mask: Opaque<u64>,
    dma_parms: Opaque<bindings::device_dma_parameters>,
    /// The device's firmware node, referenced; set before the device is added.
    node: Option<ARef<FwNode>>,
    #[pin]
    data: T,
}

impl<T> Object<T> {
    /// Returns the object whose `dev` is `dev`.
    ///
    /// # Safety
    ///
    /// `dev` must be the `dev` of an `Object<T>`.
    unsafe fn from_dev(dev: *mut bindings::device) -> *mut Self {
        // SAFETY: `dev` is the `dev` field of an `Object<T>` (caller); `Opaque<T>` has the
        // layout of `T`.
        unsafe { crate::container_of!(dev.cast::<Opaque<bindings::device>>(), Self, dev) }
    }
}

/// The type of the devices with data `T`, `struct device_type`.
///
/// Its `release` callback, which frees the devices, is code of the crate that defines the type:
/// only built-in code may make devices of a type (see [`Builder::new`]), since a device may
/// outlive any module that made it.
///
/// A type is told from another by its address: the `struct device_type` is [`Opaque`], so a
/// `Type` is never promoted to a constant, and two types with the same name and groups are
/// never merged into one object. A type must be a `static`:
///
/// ```compile_fail,E0515
/// use kernel::device::{attribute::GroupList, dynamic};
///
/// static NO_GROUPS: GroupList<1> = GroupList::new([None]);
///
/// const WIDGET: dynamic::Type<u32> = dynamic::Type::new(c"widget", &NO_GROUPS);
///
/// fn widget_type() -> &'static dynamic::Type<u32> {
///     // error[E0515]: cannot return reference to temporary value
///     &WIDGET
/// }
/// ```
///
/// # Invariants
///
/// `self.0` never changes after its constant initialisation; its `release` is
/// `release_callback::<T>`. Every device whose `type` is `self` is the `dev` of an
/// `Object<T>` made by [`Builder::new`] with `self`.
///
/// # Examples
///
/// ```
/// use kernel::{device::{attribute::GroupList, dynamic, Device}, prelude::*};
///
/// struct Widget {
///     id: u32,
/// }
///
/// static NO_GROUPS: GroupList<1> = GroupList::new([None]);
/// static WIDGET: dynamic::Type<Widget> = dynamic::Type::new(c"widget", &NO_GROUPS);
///
/// fn widget_id(dev: &Device) -> Option<u32> {
///     WIDGET.data(dev).map(|w| w.id)
/// }
/// ```
#[repr(transparent)]
pub struct Type<T: 'static>(Opaque<bindings::device_type>, PhantomData<fn() -> T>);

// SAFETY: The `device_type` is never changed (type invariant) and the driver core only reads it.
unsafe impl<T: Send + Sync> Sync for Type<T> {}

impl<T: Send + Sync> Type<T> {
    /// Makes a device type named `name` (the `DEVTYPE` of its uevents), whose devices have the
    /// attribute groups `groups`.
    pub const fn new<const N: usize>(name: &'static CStr, groups: &'static GroupList<N>) -> Self {
        // INVARIANT: `release` frees an `Object<T>`; only `Builder::new` gives a device this type.
        Self(
            Opaque::new(bindings::device_type {
                name: crate::str::as_char_ptr_in_const_context(name),
                groups: groups.as_raw().cast_mut(),
                release: Some(release_callback::<T>),
                ..pin_init::zeroed()
            }),
            PhantomData,
        )
    }

    #[inline]
    fn as_raw(&self) -> *const bindings::device_type {
        self.0.get()
    }

    /// Returns whether `dev` is of this type.
    #[inline]
    pub fn owns(&self, dev: &Device) -> bool {
        // SAFETY: `dev` is a valid device; its `type` is set before it is added and never
        // changes.
        core::ptr::eq(unsafe { (*dev.as_raw()).type_ }, self.as_raw())
    }

    /// Returns the data of `dev`, or `None` if `dev` is not of this type.
    #[inline]
    pub fn data<'a>(&self, dev: &'a Device) -> Option<&'a T> {
        if !self.owns(dev) {
            return None;
        }
        // SAFETY: A device of this type is the `dev` of an `Object<T>` (type invariant).
        let obj = unsafe { Object::<T>::from_dev(dev.as_raw()) };
        // SAFETY: The object lives until `release_callback()`, which runs once the last
        // reference to the device is gone: not during `'a`, for which `dev` is valid. `data` is
        // only shared once it is initialised.
        Some(unsafe { &(*obj).data })
    }
}

/// Frees an `Object<T>` once the last reference to its device is gone.
///
/// # Safety
///
/// `dev` must be the `dev` of an `Object<T>` allocated by [`Builder::new`], whose reference count
/// has dropped to zero.
unsafe extern "C" fn release_callback<T>(dev: *mut bindings::device) {
    // SAFETY: `release` is only set in a `Type<T>`, whose devices are the `dev` of an
    // `Object<T>` (type invariant of `Type`).
    let obj = unsafe { Object::<T>::from_dev(dev) };
    // SAFETY: The object came from `KBox::into_raw()` in `Builder::new()`; the pointer was derived
    // from that raw pointer, not from a reference, and nothing uses the device any more. Dropping
    // it drops `T` and the node reference.
    drop(unsafe { KBox::from_raw(obj) });
}

/// A device initialised but not yet added, `T` its data.
///
/// Its setters take `&self`: a `Builder` is neither `Send` nor `Sync`, so they never run
/// concurrently, and they only change the `struct device` and the node, never `T`.
///
/// The builder holds a reference to the parent until the device is added: `device_add()` takes
/// the device's own reference to the parent, which `device_del()` drops. A builder may thus
/// outlive the `&Device` it was made from.
///
/// # Invariants
///
/// `obj` is an `Object<T>` whose `dev` is initialised, of a [`Type<T>`], and not added; `self`
/// owns the reference `device_initialize()` gave, and nothing else refers to the device. The
/// device's `parent` is `_parent`, which `self` holds a reference to.
///
/// # Examples
///
/// ```
/// use kernel::{
///     bus, device::{attribute::GroupList, dynamic, Device}, prelude::*, sync::aref::ARef,
/// };
///
/// struct Widgets;
/// impl bus::Operations for Widgets {
///     fn bus() -> &'static bus::Type<Self> {
///         &WIDGET_BUS
///     }
/// }
///
/// #[pin_data]
/// struct Widget {
///     id: u32,
/// }
///
/// static WIDGET_BUS: bus::Type<Widgets> = bus::Type::new(c"widget");
/// static NO_GROUPS: GroupList<1> = GroupList::new([None]);
/// static WIDGET: dynamic::Type<Widget> = dynamic::Type::new(c"widget", &NO_GROUPS);
///
/// // The builder keeps its parent: it may outlive the reference it was made from.
/// fn prepare(parent: ARef<Device>, id: u32) -> Result<dynamic::Builder<Widget>> {
///     let data = try_pin_init!(Widget { id }? Error);
///     // SAFETY: `WIDGET` and `WIDGET_BUS` are statics of built-in code, never freed.
///     let new = unsafe { dynamic::Builder::new(&WIDGET, &WIDGET_BUS, &parent, data) }?;
///     drop(parent);
///     new.set_dma_mask(u64::MAX);
///     new.set_name(c"widget0")?;
///     Ok(new)
/// }
///
/// fn add(new: dynamic::Builder<Widget>) -> Result<dynamic::Added<Widget>> {
///     new.device_add()
/// }
/// # let _ = (prepare, add);
/// ```
pub struct Builder<T: 'static> {
    obj: NonNull<Object<T>>,
    _parent: ARef<Device>,
}

impl<T: Send + Sync> Builder<T> {
    /// Allocates a device of type `ty` on the bus `bus`, child of `parent`, with data `data`, and
    /// initialises it (`device_initialize()`).
    ///
    /// # Safety
    ///
    /// `ty` and `bus` must be statics of built-in code, not of a module: the device may outlive
    /// the module (anybody may hold a reference to it), and its last reference calls the release
    /// callback of `ty`, which is code of the crate that defined `ty`, and reads `bus`.
    pub unsafe fn new<B: bus::Operations>(
        ty: &'static Type<T>,
        bus: &'static bus::Type<B>,
        parent: &Device,
        data: impl PinInit<T, Error>,
    ) -> Result<Self> {
        let obj = KBox::pin_init(
            try_pin_init!(Object {
                dev: Opaque::zeroed(),
                dma_mask: Opaque::zeroed(),
                dma_parms: Opaque::zeroed(),
                node: None,
                data <- data,
            }? Error),
            GFP_KERNEL,
        )?;
        // SAFETY: The object is not moved out of its allocation: `release_callback()` frees it
        // where it is.
        let obj = KBox::into_raw(unsafe { core::pin::Pin::into_inner_unchecked(obj) });
        let parent: ARef<Device> = parent.into();
        // SAFETY: `obj` is a fresh allocation, owned here; from `device_initialize()` on the
        // device's reference count owns it, and `release_callback()` frees it, code that is never
        // unloaded (caller). `parent` is a valid device, referenced by the builder until
        // `device_add()` takes the device's own reference to it.
        unsafe {
            let dev = Opaque::cast_into(&raw const (*obj).dev);
            bindings::device_initialize(dev);
            (*dev).parent = parent.as_raw();
            (*dev).bus = bus.as_raw();
            (*dev).type_ = ty.as_raw();
        }
        // INVARIANT: Initialised above, of type `ty`, not added, child of `parent`; ours alone.
        Ok(Self {
            // SAFETY: `obj` comes from a `KBox`, so it is not NULL.
            obj: unsafe { NonNull::new_unchecked(obj) },
            _parent: parent,
        })
    }
}

impl<T: 'static> Builder<T> {
    #[inline]
    fn dev(&self) -> *mut bindings::device {
        // SAFETY: `self.obj` is valid (type invariant); no reference is created.
        unsafe { Opaque::cast_into(&raw const (*self.obj.as_ptr()).dev) }
    }

    /// Returns the device's data.
    #[inline]
    pub fn data(&self) -> &T {
        // SAFETY: `self.obj` is valid (type invariant); `data` was initialised in `Builder::new()`
        // and the setters below never touch it.
        unsafe { &(*self.obj.as_ptr()).data }
    }

    /// Sets the device's streaming and coherent DMA masks to `mask`, and gives it DMA parameters
    /// of its own (the defaults: 64 KiB segments, no boundary).
    pub fn set_dma_mask(&self, mask: u64) {
        let (obj, dev) = (self.obj.as_ptr(), self.dev());
        // SAFETY: The device is ours alone until it is added (type invariant); the mask and the
        // parameters live as long as the device.
        unsafe {
            *Opaque::cast_into(&raw const (*obj).dma_mask) = mask;
            (*dev).dma_mask = Opaque::cast_into(&raw const (*obj).dma_mask);
            (*dev).coherent_dma_mask = mask;
            (*dev).dma_parms = Opaque::cast_into(&raw const (*obj).dma_parms);
        }
    }

    /// Makes `node` the device's firmware node (`fwnode`, and `of_node` for a device tree
    /// node, `device_set_node()`); the device keeps a reference to it.
    pub fn set_node(&self, node: &FwNode) {
        let (obj, dev) = (self.obj.as_ptr(), self.dev());
        // SAFETY: The device is ours alone until it is added (type invariant). The node is
        // referenced in `node` until the object is freed, after the device.
        unsafe {
            (*obj).node = Some(node.into());
            bindings::device_set_node(dev, node.as_raw());
        }
    }

    /// Names the device.
    pub fn set_name(&self, name: &CStr) -> Result {
        // SAFETY: The device is initialised and ours alone (type invariant); the format takes
        // one string.
        to_result(unsafe {
            bindings::dev_set_name(self.dev(), c"%s".as_char_ptr(), name.as_char_ptr())
        })
    }

    /// Adds the device to the driver core (`device_add()`).
    ///
    /// On failure the device is freed.
    pub fn device_add(self) -> Result<Added<T>> {
        // SAFETY: The device is initialised, named, on a bus, and ours alone (type invariant).
        to_result(unsafe { bindings::device_add(self.dev()) })?;
        Ok(self.into_added())
    }

    /// Adds the device to the driver core (`device_add()`) with its uevents held back until
    /// [`Quiet::announce`]: nobody hears of the device before its creator has checked it.
    ///
    /// On failure the device is freed.
    pub fn device_add_quiet(self) -> Result<Quiet<T>> {
        let dev = self.dev();
        // SAFETY: The device is initialised, named, on a bus, and ours alone (type invariant):
        // before `device_add()` it has no sysfs entry, so nothing else writes the bitfield of
        // `kobj` that `uevent_suppress` is in.
        to_result(unsafe {
            bindings::dev_set_uevent_suppress(dev, 1);
            bindings::device_add(dev)
        })?;
        // INVARIANT: The uevents of the device were suppressed before it was added.
        Ok(Quiet(self.into_added()))
    }

    /// Hands the reference over to an [`Added`], once the device is added.
    fn into_added(self) -> Added<T> {
        let obj = self.obj;
        // The device now holds its own reference to the parent (`device_add()`): drop ours, but
        // not the device's initial reference, which passes to `Added`.
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `this._parent` is read once, and `this` is never dropped or used again.
        drop(unsafe { core::ptr::read(&this._parent) });
        // INVARIANT: The device was added (caller); the reference passes from `Builder` to
        // `Added`.
        Added { obj }
    }
}

impl<T: 'static> Drop for Builder<T> {
    fn drop(&mut self) {
        // SAFETY: `self` owns the initial reference (type invariant): this drops it, and with it
        // the device if nobody else took one.
        unsafe { bindings::put_device(self.dev()) };
    }
}

/// A device added to the driver core, `T` its data.
///
/// Dropping it deletes the device (`device_del()`) and drops the creator's reference.
///
/// # Invariants
///
/// `obj` is an `Object<T>` whose `dev` is added and of a [`Type<T>`]; `self` owns the creator's
/// reference to it, and deletes it.
///
/// # Examples
///
/// ```
/// use kernel::{device::dynamic, prelude::*, sync::aref::ARef, device::Device};
///
/// struct Widget {
///     id: u32,
/// }
///
/// fn show(added: &dynamic::Added<Widget>) {
///     pr_info!("{}: widget {}\n", added.device().name(), added.data().id);
/// }
///
/// // Deleting the device hands back the creator's reference, to be dropped, e.g., outside a lock.
/// fn remove(added: dynamic::Added<Widget>) -> ARef<Device> {
///     added.delete()
/// }
/// # let _ = (show, remove);
/// ```
pub struct Added<T: 'static> {
    obj: NonNull<Object<T>>,
}

impl<T: 'static> Added<T> {
    /// Returns the device.
    #[inline]
    pub fn device(&self) -> &Device {
        // SAFETY: `self.obj` is valid (type invariant); no reference is created.
        let dev = unsafe { Opaque::cast_into(&raw const (*self.obj.as_ptr()).dev) };
        // SAFETY: The device is valid while `self` holds its reference.
        unsafe { Device::from_raw(dev) }
    }

    /// Returns the device's data.
    #[inline]
    pub fn data(&self) -> &T {
        // SAFETY: The object lives while `self` holds the device's reference; `data` was
        // initialised in `Builder::new()`.
        unsafe { &(*self.obj.as_ptr()).data }
    }

    /// Deletes the device (`device_del()`) and returns the creator's reference, which drops the
    /// device when it goes.
    pub fn delete(self) -> ARef<Device> {
        let dev = self.device().as_raw();
        core::mem::forget(self);
        // SAFETY: The device is added (type invariant) and deleted only here.
        unsafe { bindings::device_del(dev) };
        // SAFETY: The creator's reference, owned by `self`, passes to the `ARef`.
        unsafe { ARef::from_raw(NonNull::new_unchecked(dev.cast::<Device>())) }
    }

    /// Gives up ownership for C: returns the `struct device` pointer, to be given back to
    /// [`Added::from_raw`].
    pub fn into_raw(self) -> NonNull<bindings::device> {
        let dev = self.device().as_raw();
        core::mem::forget(self);
        // SAFETY: A device pointer is not NULL.
        unsafe { NonNull::new_unchecked(dev) }
    }

    /// Takes ownership back from a pointer returned by [`Added::into_raw`], if `dev` is of type
    /// `ty`.
    ///
    /// # Safety
    ///
    /// `dev` must be a valid device; if it is of type `ty`, it must come from
    /// [`Added::into_raw`], and not be given back twice.
    pub unsafe fn from_raw(ty: &'static Type<T>, dev: NonNull<bindings::device>) -> Option<Self>
    where
        T: Send + Sync,
    {
        // SAFETY: `dev` is a valid device (caller).
        if !ty.owns(unsafe { Device::from_raw(dev.as_ptr()) }) {
            return None;
        }
        // INVARIANT: `dev` came from `into_raw()`, which gave up the creator's reference to an
        // added device of type `ty` (caller).
        // SAFETY: A device of type `ty` is the `dev` of an `Object<T>`.
        let obj = unsafe { Object::<T>::from_dev(dev.as_ptr()) };
        Some(Self {
            // SAFETY: `obj` is not NULL, as `dev` is not.
            obj: unsafe { NonNull::new_unchecked(obj) },
        })
    }
}

impl<T: 'static> Drop for Added<T> {
    fn drop(&mut self) {
        let dev = self.device().as_raw();
        // SAFETY: The device is added (type invariant): this deletes it and drops the creator's
        // reference.
        unsafe {
            bindings::device_del(dev);
            bindings::put_device(dev);
        }
    }
}

// SAFETY: A device may be added, deleted and released from any thread; `T: Send + Sync` makes
// its data safe to share and to drop on another thread.
unsafe impl<T: Send + Sync> Send for Added<T> {}

// SAFETY: `Added` only gives shared access to the device and to `T: Sync`.
unsafe impl<T: Send + Sync> Sync for Added<T> {}

/// A device added to the driver core with its uevents held back ([`Builder::device_add_quiet`]),
/// `T` its data.
///
/// It gives access to the device as an [`Added`] does (it derefs to one), but only
/// [`Quiet::announce`], which consumes it, lets the uevents go: once, by its owner alone.
/// Dropping it deletes the device, announced to nobody.
///
/// # Invariants
///
/// The uevents of the device are suppressed (`uevent_suppress`), by its creator; only the owner
/// of `self` changes that.
///
/// # Examples
///
/// ```
/// use kernel::{device::dynamic, prelude::*};
///
/// fn check_then_announce(quiet: dynamic::Quiet<u32>) -> Result<dynamic::Added<u32>> {
///     if *quiet.data() == 0 {
///         // Dropping `quiet` deletes the device; nobody heard of it.
///         return Err(EINVAL);
///     }
///     Ok(quiet.announce())
/// }
/// # let _ = check_then_announce;
/// ```
///
/// The uevent is sent once:
///
/// ```compile_fail,E0382
/// use kernel::device::dynamic;
///
/// fn announce_twice(quiet: dynamic::Quiet<u32>) {
///     let _ = quiet.announce();
///     // error[E0382]: use of moved value: `quiet`
///     let _ = quiet.announce();
/// }
/// ```
///
/// and only for a device whose uevents were held back:
///
/// ```compile_fail,E0599
/// use kernel::device::dynamic;
///
/// fn announce_added(added: &dynamic::Added<u32>) {
///     // error[E0599]: no method named `announce` found
///     added.announce();
/// }
/// ```
pub struct Quiet<T: 'static>(Added<T>);

impl<T: 'static> Quiet<T> {
    /// Lets the uevents of the device go, and sends the `KOBJ_ADD` uevent held back.
    pub fn announce(self) -> Added<T> {
        let dev = self.0.device().as_raw();
        // SAFETY: The device is added (type invariant of `Added`), and its uevents were
        // suppressed by its creator (type invariant); `self` is owned here, so no other Rust code
        // clears the flag. `dev_set_uevent_suppress()` is the plain bitfield store every C creator
        // makes after `device_add()`: a write of "add" to the device's sysfs `uevent` file at the
        // same moment stores a neighbouring bit of the same word (`kobject_uevent_env()`). That
        // is the driver core's own race, for C devices as for these: one of the two stores may be
        // lost, and nothing beyond the bitfield of the device's `kobj` is touched.
        unsafe {
            bindings::dev_set_uevent_suppress(dev, 0);
            bindings::kobject_uevent(&raw mut (*dev).kobj, bindings::kobject_action_KOBJ_ADD);
        }
        self.0
    }
}

impl<T: 'static> core::ops::Deref for Quiet<T> {
    type Target = Added<T>;

    #[inline]
    fn deref(&self) -> &Added<T> {
        &self.0
    }
}
