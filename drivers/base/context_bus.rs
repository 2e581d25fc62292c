// SPDX-License-Identifier: GPL-2.0

//! The context device bus.
//!
//! A context device stands for one IOMMU context of its parent: its own stream ID, IOMMU group
//! and IOVA space, optionally limited to an IOVA window. Parent drivers create them at run time
//! with `context_device_create()` (C, `include/linux/context_bus.h`) or
//! `kernel::context_bus::ContextDevice::create()` (Rust) and use them directly with the DMA API;
//! no driver ever binds to one.
//!
//! The bus is registered at postcore level so that it exists before the IOMMU core registers its
//! bus notifiers (`iommu_subsys_init()`, a subsys initcall): the IOMMU core then probes every new
//! context device and calls [`dma_configure`] for it.
//!
//! See `Documentation/driver-api/context-bus.rst`.

use core::ptr::{self, NonNull};
use kernel::{
    bindings,
    device::Device,
    error::{from_result, to_result},
    ffi::{c_char, c_int, c_void},
    prelude::*,
    str::CString,
    types::Opaque,
};

const __LOG_PREFIX: &[u8] = b"context_bus\0";

/// A C object that C code only reads, shared from an immutable `static`.
#[repr(transparent)]
pub struct Shared<T>(T);

// SAFETY: C code only reads the wrapped objects (the driver core keeps the mutable state of a
// bus elsewhere) and Rust never changes them, so sharing them between threads is sound.
unsafe impl<T> Sync for Shared<T> {}

/// The bus type, `context_device_bus_type` in C.
#[no_mangle]
pub static context_device_bus_type: Shared<bindings::bus_type> = Shared(bindings::bus_type {
    name: kernel::str::as_char_ptr_in_const_context(c"context-device"),
    dev_groups: DEV_GROUPS.0.as_ptr().cast_mut(),
    uevent: Some(uevent),
    dma_configure: Some(dma_configure),
    ..pin_init::zeroed()
});

fn bus() -> *const bindings::bus_type {
    &context_device_bus_type.0
}

kernel::sync::global_lock! {
    // SAFETY: Initialised by `context_bus_init()` before the bus is registered.
    unsafe(uninit) static CREATE_LOCK: Mutex<()> = ();
}

/// What the bus keeps for one context device; C sees `cdev` only.
///
/// The driver core and the DMA layer write to `cdev`, `dma_mask` and `dma_parms` through the
/// pointers the device holds, hence [`Opaque`]. The other fields are set before the device is
/// initialised and never change.
#[repr(C)]
#[derive(pin_init::Zeroable)]
struct Context {
    cdev: Opaque<bindings::context_device>,
    dma_mask: Opaque<u64>,
    dma_parms: Opaque<bindings::device_dma_parameters>,
    /// Result of the last [`dma_configure`], to tell "IOMMU not probed yet" from "no IOMMU".
    configure_err: Opaque<c_int>,
    /// The node that describes the IOMMU context, referenced.
    np: *mut bindings::device_node,
    /// `np` carries an `iommu-map` looked up with `fn_id`, rather than `iommus` of its own.
    uses_map: bool,
    fn_id: u32,
    iova_start: u64,
    /// Zero for no window.
    iova_size: u64,
}

impl Context {
    const DEV_OFFSET: usize =
        core::mem::offset_of!(Context, cdev) + core::mem::offset_of!(bindings::context_device, dev);

    /// # Safety
    ///
    /// `dev` must be a device of the context device bus.
    unsafe fn from_dev<'a>(dev: *const bindings::device) -> &'a Context {
        // SAFETY: Every device on the bus is the `cdev.dev` of a `Context` made by `create()`,
        // alive as long as `dev`; `Context` is `repr(C)` and `Opaque<T>` has the layout of `T`.
        unsafe { &*dev.byte_sub(Self::DEV_OFFSET).cast::<Context>() }
    }

    fn dev(&self) -> *mut bindings::device {
        // SAFETY: `cdev` is a valid `context_device`; no reference is created.
        unsafe { &raw mut (*self.cdev.get()).dev }
    }

    fn same_window(&self, other: &Context) -> bool {
        self.iova_start == other.iova_start && self.iova_size == other.iova_size
    }
}

/// The name of a new context device: the caller's, or the default one.
enum Name<'a> {
    Given(&'a CStr),
    Default(CString),
}

impl Name<'_> {
    fn as_cstr(&self) -> &CStr {
        match self {
            Name::Given(name) => name,
            Name::Default(name) => name,
        }
    }
}

/// The checked content of a `struct context_device_info`.
struct Request<'a> {
    parent: &'a Device,
    parent_raw: *mut bindings::device,
    np: *mut bindings::device_node,
    name: Name<'a>,
    uses_map: bool,
    fn_id: u32,
    dma_mask: u64,
    iova_start: u64,
    iova_size: u64,
}

/// Logs a refusal against the parent and returns its error.
macro_rules! refuse {
    ($parent:expr, $fn_id:expr, $err:expr, $($fmt:tt)*) => {{
        dev_err!($parent, "context device fn_id {}: {}\n", $fn_id, fmt!($($fmt)*));
        $err
    }};
}

fn has_property(np: *mut bindings::device_node, name: &CStr) -> bool {
    // SAFETY: `np` is a valid node and `name` a NUL-terminated string.
    !unsafe { bindings::of_find_property(np, name.as_char_ptr(), ptr::null_mut()) }.is_null()
}

impl<'a> Request<'a> {
    /// Checks everything that can be checked before the device exists.
    fn new(
        parent_raw: *mut bindings::device,
        info: &'a bindings::context_device_info,
    ) -> Result<Self> {
        // SAFETY: `parent_raw` is a valid device (C API contract).
        let parent: &Device = unsafe { Device::from_raw(parent_raw) };
        let fn_id = info.fn_id;
        if info.np.is_null() {
            return Err(refuse!(parent, fn_id, EINVAL, "no device tree node"));
        }
        if info.dma_mask == 0 {
            return Err(refuse!(parent, fn_id, EINVAL, "DMA mask is 0"));
        }
        if info.iova_size != 0 {
            let Some(end) = info.iova_start.checked_add(info.iova_size) else {
                return Err(refuse!(parent, fn_id, EOVERFLOW, "IOVA window overflows"));
            };
            let page_mask = kernel::page::PAGE_SIZE as u64 - 1;
            if (info.iova_start | info.iova_size) & page_mask != 0 {
                return Err(refuse!(
                    parent,
                    fn_id,
                    EINVAL,
                    "IOVA window {:#x}+{:#x} is not page aligned",
                    info.iova_start,
                    info.iova_size
                ));
            }
            if end - 1 > info.dma_mask {
                return Err(refuse!(
                    parent,
                    fn_id,
                    ERANGE,
                    "IOVA window {:#x}-{:#x} is outside the DMA mask {:#x}",
                    info.iova_start,
                    end - 1,
                    info.dma_mask
                ));
            }
        }

        let uses_map = has_property(info.np, c"iommu-map");
        if uses_map {
            let mut args: bindings::of_phandle_args = pin_init::zeroed();
            // SAFETY: `info.np` is a valid node and `args` a valid result buffer.
            let ret = unsafe { bindings::of_map_iommu_id(info.np, fn_id, &mut args) };
            if ret < 0 {
                return Err(refuse!(
                    parent,
                    fn_id,
                    Error::from_errno(ret),
                    "malformed iommu-map"
                ));
            }
            if args.np.is_null() {
                return Err(refuse!(parent, fn_id, ENXIO, "not covered by iommu-map"));
            }
            // SAFETY: `of_map_iommu_id()` returned the IOMMU node referenced.
            unsafe { bindings::of_node_put(args.np) };
        } else if !has_property(info.np, c"iommus") {
            return Err(refuse!(
                parent,
                fn_id,
                ENOENT,
                "node has neither iommu-map nor iommus"
            ));
        }

        let name = if info.name.is_null() {
            Name::Default(CString::try_from_fmt(fmt!(
                "{}:ctx.{}",
                parent.name(),
                fn_id
            ))?)
        } else {
            // SAFETY: A non-NULL `info.name` is a NUL-terminated string (C API contract).
            Name::Given(unsafe { CStr::from_char_ptr(info.name) })
        };

        Ok(Self {
            parent,
            parent_raw,
            np: info.np,
            name,
            uses_map,
            fn_id,
            dma_mask: info.dma_mask,
            iova_start: info.iova_start,
            iova_size: info.iova_size,
        })
    }

    /// Makes the device: on the bus, attached to its IOMMU, window reserved.
    fn create(self) -> Result<NonNull<bindings::context_device>> {
        let (parent, fn_id) = (self.parent, self.fn_id);
        let _guard = CREATE_LOCK.lock();

        // SAFETY: The bus is registered; `name` is NUL-terminated; `device_match_name` has
        // the `device_match_t` signature.
        let found = unsafe {
            bindings::bus_find_device(
                bus(),
                ptr::null_mut(),
                self.name().as_char_ptr().cast(),
                Some(bindings::device_match_name),
            )
        };
        if !found.is_null() {
            // SAFETY: `bus_find_device()` returned a reference.
            unsafe { bindings::put_device(found) };
            return Err(refuse!(parent, fn_id, EEXIST, "{} exists", self.name_str()));
        }

        let ctx = KBox::into_raw(KBox::<Context>::zeroed(GFP_KERNEL)?);
        // SAFETY: `ctx` is a fresh, zeroed `Context`, owned here until `device_initialize()`
        // hands it to the device's reference count and `release()`.
        let dev = unsafe {
            (*ctx).np = bindings::of_node_get(self.np);
            (*ctx).uses_map = self.uses_map;
            (*ctx).fn_id = fn_id;
            (*ctx).iova_start = self.iova_start;
            (*ctx).iova_size = self.iova_size;
            *(*ctx).dma_mask.get() = self.dma_mask;

            let dev = (*ctx).dev();
            bindings::device_initialize(dev);
            (*dev).parent = self.parent_raw;
            (*dev).bus = bus();
            (*dev).release = Some(release);
            (*dev).dma_mask = (*ctx).dma_mask.get();
            (*dev).coherent_dma_mask = self.dma_mask;
            (*dev).dma_parms = (*ctx).dma_parms.get();
            if !self.uses_map {
                // The node is the context's own: show it, and let `of_dma_configure_id()`
                // find the DMA parent from it. `np` holds the reference.
                (*dev).of_node = (*ctx).np;
                (*dev).fwnode = &raw mut (*(*ctx).np).fwnode;
            }
            dev
        };

        // From here on `put_device()` frees everything through `release()`.
        let put = |err: Error| {
            // SAFETY: `dev` was initialised and holds the reference taken at initialisation.
            unsafe { bindings::put_device(dev) };
            err
        };
        // SAFETY: `dev` is initialised; the format takes one string.
        to_result(unsafe {
            bindings::dev_set_name(dev, c"%s".as_char_ptr(), self.name().as_char_ptr())
        })
        .map_err(put)?;
        // SAFETY: `dev` is initialised, named, on the bus.
        to_result(unsafe { bindings::device_add(dev) })
            .map_err(|e| put(refuse!(parent, fn_id, e, "device_add() failed: {:?}", e)))?;

        // SAFETY: `ctx` stays valid while `dev` is referenced.
        let ctx = unsafe { &*ctx };
        if let Err(e) = self.check_iommu(ctx).and_then(|()| {
            // SAFETY: `dev` is in an IOMMU group with its default domain (just checked).
            to_result(unsafe { bindings::iommu_device_use_default_domain(dev) })
        }) {
            // SAFETY: `dev` was added above; the reference is dropped by `put`.
            unsafe { bindings::device_del(dev) };
            return Err(put(e));
        }

        // SAFETY: `dev` is the `dev` of the `context_device` `cdev`.
        Ok(unsafe { NonNull::new_unchecked(ctx.cdev.get()) })
    }

    fn name(&self) -> &CStr {
        self.name.as_cstr()
    }

    fn name_str(&self) -> &str {
        self.name().to_str().unwrap_or("?")
    }

    /// The checks that need the IOMMU core to have probed the device.
    fn check_iommu(&self, ctx: &Context) -> Result {
        let (parent, fn_id, dev) = (self.parent, self.fn_id, ctx.dev());

        // SAFETY: `dev` is a registered device.
        if unsafe { (*dev).iommu_group }.is_null() {
            // SAFETY: Written by `dma_configure()` before the device was added to a group.
            let err = unsafe { *ctx.configure_err.get() };
            if err == EPROBE_DEFER.to_errno() {
                return Err(refuse!(parent, fn_id, EPROBE_DEFER, "IOMMU not probed yet"));
            }
            return Err(refuse!(parent, fn_id, ENODEV, "not behind an IOMMU"));
        }
        // SAFETY: `dev` is in an IOMMU group.
        let domain = unsafe { bindings::iommu_get_domain_for_dev(dev) };
        // SAFETY: A non-NULL domain of a device in a group is valid while the device is.
        let domain = match unsafe { domain.as_ref() } {
            Some(d) if d.type_ & bindings::__IOMMU_DOMAIN_DMA_API != 0 => d,
            _ => return Err(refuse!(parent, fn_id, ENODEV, "no IOMMU DMA domain")),
        };
        if self.iova_size != 0 {
            let last = self.iova_start + self.iova_size - 1;
            let aperture = &domain.geometry;
            if self.iova_start < aperture.aperture_start || last > aperture.aperture_end {
                return Err(refuse!(
                    parent,
                    fn_id,
                    ERANGE,
                    "IOVA window {:#x}-{:#x} is outside the IOMMU aperture {:#x}-{:#x}",
                    self.iova_start,
                    last,
                    aperture.aperture_start,
                    aperture.aperture_end
                ));
            }
            let granule = 1u64 << domain.pgsize_bitmap.trailing_zeros();
            if (self.iova_start | self.iova_size) & (granule - 1) != 0 {
                return Err(refuse!(
                    parent,
                    fn_id,
                    EINVAL,
                    "IOVA window is not aligned to the IOVA granule {:#x}",
                    granule
                ));
            }
        }
        // SAFETY: `dev` is a registered device.
        if !unsafe { bindings::dev_dma_iommu(dev) } {
            return Err(refuse!(
                parent,
                fn_id,
                ENODEV,
                "DMA does not go through the IOMMU"
            ));
        }

        // The group's IOVA space was set up for its first device: refuse to share it with a
        // device whose window differs.
        let mut clash: *mut bindings::device = ptr::null_mut();
        let mut data = (ctx, &mut clash);
        // SAFETY: `dev` is in a group; `other_window` has the callback's signature and gets
        // `data` back.
        unsafe {
            let group = (*dev).iommu_group;
            bindings::iommu_group_for_each_dev(group, (&raw mut data).cast(), Some(other_window));
        }
        if !clash.is_null() {
            // SAFETY: `clash` is a device of the group, kept alive by the group.
            let other: &Device = unsafe { Device::from_raw(clash) };
            return Err(refuse!(
                parent,
                fn_id,
                EBUSY,
                "shares its IOMMU group with {}, whose IOVA window differs",
                other.name()
            ));
        }
        Ok(())
    }
}

/// `iommu_group_for_each_dev()` callback: finds a device whose window differs from ours.
unsafe extern "C" fn other_window(dev: *mut bindings::device, data: *mut c_void) -> c_int {
    // SAFETY: `data` is the `(ctx, clash)` tuple of `check_iommu()`.
    let (ctx, clash) = unsafe { &mut *data.cast::<(&Context, &mut *mut bindings::device)>() };
    if dev == ctx.dev() {
        return 0;
    }
    // Devices of other buses have no window.
    // SAFETY: `dev` is valid during the callback.
    let same = if unsafe { (*dev).bus } == bus() {
        // SAFETY: `dev` is on this bus, hence a context device.
        ctx.same_window(unsafe { Context::from_dev(dev) })
    } else {
        ctx.iova_size == 0
    };
    if !same {
        **clash = dev;
        return 1;
    }
    0
}

/// Bus `dma_configure`: the window, then the IOMMU.
///
/// Called by the IOMMU core from `iommu_probe_device()` with no driver bound (and none ever
/// binds); it does not look at `dev->driver`.
unsafe extern "C" fn dma_configure(dev: *mut bindings::device) -> c_int {
    // SAFETY: Only devices of this bus get here.
    let ctx = unsafe { Context::from_dev(dev) };
    let ret = from_result(|| {
        // SAFETY: `dev` is being probed by the IOMMU core, which serialises this.
        unsafe {
            if ctx.iova_size != 0 && (*dev).dma_range_map.is_null() {
                set_window(dev, ctx.iova_start, ctx.iova_size)?;
            }
            let id: *const u32 = if ctx.uses_map {
                &ctx.fn_id
            } else {
                ptr::null()
            };
            to_result(bindings::of_dma_configure_id(dev, ctx.np, true, id))?;
        }
        Ok(0)
    });
    // SAFETY: Only this callback writes it, serialised by the IOMMU core.
    unsafe { *ctx.configure_err.get() = ret };
    ret
}

/// Makes `[start, start + size)` the device's only DMA range: `of_dma_configure_id()` keeps a
/// range map already set, and dma-iommu reserves the IOVA outside it.
///
/// # Safety
///
/// `dev` must be valid and not in use by the DMA API yet.
unsafe fn set_window(dev: *mut bindings::device, start: u64, size: u64) -> Result {
    // One identity region and the terminating empty one; the driver core frees the map with
    // `kfree()`.
    let mut map = KBox::<[bindings::bus_dma_region; 2]>::zeroed(GFP_KERNEL)?;
    map[0].cpu_start = start;
    map[0].dma_start = start;
    map[0].size = size;
    // SAFETY: Guaranteed by the caller.
    unsafe {
        (*dev).dma_range_map = KBox::into_raw(map).cast();
        (*dev).bus_dma_limit = start + size - 1;
    }
    Ok(())
}

/// Device release: the last reference to a context device is gone.
unsafe extern "C" fn release(dev: *mut bindings::device) {
    // SAFETY: Only devices of this bus get here.
    let ctx = unsafe { Context::from_dev(dev) };
    // SAFETY: The node was referenced in `create()`; nothing uses the device any more.
    unsafe { bindings::of_node_put(ctx.np) };
    let ctx: *const Context = ctx;
    // SAFETY: `ctx` came from `KBox::into_raw()` in `create()`; this is the last user.
    drop(unsafe { KBox::from_raw(ctx.cast_mut()) });
}

/// Bus `uevent`: lets udev tell context devices apart.
unsafe extern "C" fn uevent(
    dev: *const bindings::device,
    env: *mut bindings::kobj_uevent_env,
) -> c_int {
    // SAFETY: Only devices of this bus get here.
    let ctx = unsafe { Context::from_dev(dev) };
    // SAFETY: `dev` is valid; a context device always has a parent.
    let parent = unsafe { bindings::dev_name((*dev).parent) };
    // SAFETY: `env` is valid; each format takes one argument of the type given.
    unsafe {
        let ret = bindings::add_uevent_var(env, c"CONTEXT_FN_ID=%u".as_char_ptr(), ctx.fn_id);
        if ret != 0 {
            return ret;
        }
        bindings::add_uevent_var(env, c"CONTEXT_PARENT=%s".as_char_ptr(), parent)
    }
}

/// A read-only sysfs attribute named `name`, the value of `attribute`.
const fn attribute(name: &CStr) -> bindings::attribute {
    let mut attr: bindings::attribute = pin_init::zeroed();
    attr.name = kernel::str::as_char_ptr_in_const_context(name);
    attr.mode = 0o444;
    attr
}

/// Defines the device attribute `$attr` that shows the field `$field` of a context device.
macro_rules! ro_attribute {
    ($attr:ident, $show:ident, $name:literal, $field:ident, $format:literal) => {
        unsafe extern "C" fn $show(
            dev: *mut bindings::device,
            _attr: *mut bindings::device_attribute,
            buf: *mut c_char,
        ) -> isize {
            // SAFETY: Attributes of this bus are only shown for its devices.
            let ctx = unsafe { Context::from_dev(dev) };
            let value: u64 = ctx.$field.into();
            // SAFETY: `buf` is a sysfs page; the format takes one `unsigned long long`.
            unsafe { bindings::sysfs_emit(buf, $format.as_char_ptr(), value) as isize }
        }

        static $attr: Shared<bindings::device_attribute> = Shared(bindings::device_attribute {
            attr: attribute($name),
            __bindgen_anon_1: bindings::device_attribute__bindgen_ty_1 { show: Some($show) },
            __bindgen_anon_2: pin_init::zeroed(),
        });
    };
}

ro_attribute!(FN_ID, fn_id_show, c"fn_id", fn_id, c"%llu\n");
ro_attribute!(
    IOVA_START,
    iova_start_show,
    c"iova_start",
    iova_start,
    c"%#llx\n"
);
ro_attribute!(
    IOVA_SIZE,
    iova_size_show,
    c"iova_size",
    iova_size,
    c"%#llx\n"
);

static ATTRS: Shared<[*const bindings::attribute; 4]> = Shared([
    &FN_ID.0.attr,
    &IOVA_START.0.attr,
    &IOVA_SIZE.0.attr,
    ptr::null(),
]);

static GROUP: Shared<bindings::attribute_group> = Shared(bindings::attribute_group {
    __bindgen_anon_2: bindings::attribute_group__bindgen_ty_2 {
        attrs_const: ATTRS.0.as_ptr(),
    },
    ..pin_init::zeroed()
});

static DEV_GROUPS: Shared<[*const bindings::attribute_group; 2]> = Shared([&GROUP.0, ptr::null()]);

/// C API: see `include/linux/context_bus.h`.
///
/// # Safety
///
/// `parent` and `info` must be NULL or valid; `parent` must stay bound while the device exists.
#[export]
pub unsafe extern "C" fn context_device_create(
    parent: *mut bindings::device,
    info: *const bindings::context_device_info,
) -> *mut bindings::context_device {
    if parent.is_null() {
        pr_err!("context_device_create(): no parent device\n");
        return EINVAL.to_ptr();
    }
    // SAFETY: `info` is NULL or valid (caller).
    let Some(info) = (unsafe { info.as_ref() }) else {
        // SAFETY: `parent` is valid (caller).
        let parent: &Device = unsafe { Device::from_raw(parent) };
        dev_err!(parent, "context device: no info\n");
        return EINVAL.to_ptr();
    };
    match Request::new(parent, info).and_then(Request::create) {
        Ok(cdev) => cdev.as_ptr(),
        Err(e) => e.to_ptr(),
    }
}

/// C API: see `include/linux/context_bus.h`.
///
/// # Safety
///
/// `cdev` must be NULL or a device from `context_device_create()` not destroyed yet.
#[export]
pub unsafe extern "C" fn context_device_destroy(cdev: *mut bindings::context_device) {
    if cdev.is_null() {
        return;
    }
    // SAFETY: `cdev` is a live context device (caller).
    unsafe {
        let dev = &raw mut (*cdev).dev;
        bindings::iommu_device_unuse_default_domain(dev);
        bindings::device_del(dev);
        bindings::put_device(dev);
    }
}

unsafe extern "C" fn destroy_action(cdev: *mut c_void) {
    // SAFETY: Registered by `devm_context_device_create()` for this device.
    unsafe { context_device_destroy(cdev.cast()) };
}

/// C API: see `include/linux/context_bus.h`.
///
/// # Safety
///
/// As for [`context_device_create`]; `parent` must be bound to a driver.
#[export]
pub unsafe extern "C" fn devm_context_device_create(
    parent: *mut bindings::device,
    info: *const bindings::context_device_info,
) -> *mut bindings::context_device {
    // SAFETY: Guaranteed by the caller.
    let cdev = unsafe { context_device_create(parent, info) };
    // SAFETY: `cdev` is a pointer or an error pointer.
    if unsafe { bindings::IS_ERR(cdev.cast()) } {
        return cdev;
    }
    // SAFETY: `parent` is a bound device; on failure the action runs at once.
    let ret =
        unsafe { bindings::devm_add_action_or_reset(parent, Some(destroy_action), cdev.cast()) };
    if ret != 0 {
        return Error::from_errno(ret).to_ptr();
    }
    cdev
}

/// C API: see `include/linux/context_bus.h`.
///
/// # Safety
///
/// `dev` must be valid.
#[export]
pub unsafe extern "C" fn dev_is_context_device(dev: *const bindings::device) -> bool {
    // SAFETY: `dev` is valid (caller).
    unsafe { (*dev).bus == bus() }
}

fn context_bus_init() -> Result {
    // SAFETY: Called once, before anything can take the lock.
    unsafe { CREATE_LOCK.init() };
    // SAFETY: The bus type is a valid, static `bus_type`.
    to_result(unsafe { bindings::bus_register(bus()) })
}

kernel::initcall!(postcore, context_bus_init);
