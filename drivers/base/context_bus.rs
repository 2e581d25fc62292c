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

use core::{
    cmp::Ordering,
    ptr::{self, NonNull},
};
use kernel::{
    bindings,
    device::Device,
    error::{from_result, to_result},
    ffi::{c_char, c_int, c_void},
    prelude::*,
    rbtree::{RBTree, RBTreeNode},
    str::CString,
    types::Opaque,
};

const __LOG_PREFIX: &[u8] = b"context_bus\0";

/// A C object of the bus that C code only reads, shared from an immutable `static`.
#[repr(transparent)]
pub struct Shared<T>(T);

// SAFETY: The wrapped objects are the bus's `bus_type`, `device_type`, attributes and their
// tables: C code only reads them (the driver core keeps a bus's mutable state elsewhere), and
// Rust never changes them, so sharing them between threads is sound.
unsafe impl Sync for Shared<bindings::bus_type> {}
// SAFETY: As above.
unsafe impl Sync for Shared<bindings::device_type> {}
// SAFETY: As above.
unsafe impl Sync for Shared<bindings::device_attribute> {}
// SAFETY: As above.
unsafe impl Sync for Shared<bindings::attribute_group> {}
// SAFETY: As above.
unsafe impl<const N: usize> Sync for Shared<[*const bindings::attribute; N]> {}
// SAFETY: As above.
unsafe impl<const N: usize> Sync for Shared<[*const bindings::attribute_group; N]> {}

/// The bus type, `context_device_bus_type` in C.
///
/// Its `match` refuses every driver: context devices are used by their parent directly, and a
/// driver bound to one would rerun [`dma_configure`] and tear the IOMMU setup down on unbind.
#[no_mangle]
pub static context_device_bus_type: Shared<bindings::bus_type> = Shared(bindings::bus_type {
    name: kernel::str::as_char_ptr_in_const_context(c"context-device"),
    match_: Some(match_no_driver),
    uevent: Some(uevent),
    dma_configure: Some(dma_configure),
    ..pin_init::zeroed()
});

/// The device type of every context device: what [`Context::from_dev`] checks.
static CONTEXT_TYPE: Shared<bindings::device_type> = Shared(bindings::device_type {
    name: kernel::str::as_char_ptr_in_const_context(c"context"),
    groups: DEV_GROUPS.0.as_ptr().cast_mut(),
    release: Some(release),
    ..pin_init::zeroed()
});

fn bus() -> *const bindings::bus_type {
    &context_device_bus_type.0
}

/// The names of the context devices that exist, so that a name is checked without walking the
/// bus.
type Names = Option<RBTree<Name, ()>>;

kernel::sync::global_lock! {
    // SAFETY: Initialised by `context_bus_init()` before the bus is registered.
    //
    // Held from the name check of a create to its end (`device_add()` and the IOMMU checks),
    // and from the name's removal in a destroy to its `device_del()`: a name is taken and
    // given back together with the sysfs entries that carry it.
    unsafe(uninit) static CONTEXTS: Mutex<Names> = None;
}

kernel::sync::global_lock! {
    // SAFETY: Initialised by `context_bus_init()` before the bus is registered.
    //
    // Serialises [`dma_configure`] and the reads of `Context::configure_err`: the IOMMU core
    // calls `dma_configure` without a lock of its own, and may call it again for a device it
    // probes twice (a late `bus_iommu_probe()`).
    //
    // Lock order: `CONTEXTS`, then this lock (`device_add()` reaches `dma_configure` through
    // the IOMMU bus notifier), then `iommu_probe_device_lock` and the group's mutex (taken by
    // `of_dma_configure_id()`). This relies on `iommu_init_device()` dropping
    // `iommu_probe_device_lock` around the call of the bus's `dma_configure`.
    unsafe(uninit) static CONFIGURE_LOCK: Mutex<()> = ();
}

/// A context device's name, as the key of [`CONTEXTS`].
struct Name(CString);

impl Name {
    fn as_cstr(&self) -> &CStr {
        &self.0
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.as_cstr().to_bytes() == other.as_cstr().to_bytes()
    }
}

impl Eq for Name {}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_cstr().to_bytes().cmp(other.as_cstr().to_bytes())
    }
}

/// What the bus keeps for one context device; C sees `cdev` only.
///
/// The driver core and the DMA layer write to `cdev`, `dma_mask` and `dma_parms` through the
/// pointers the device holds, hence [`Opaque`]. `configure_err` is written and read under
/// [`CONFIGURE_LOCK`]. The other fields are set before the device is initialised and never
/// change.
#[repr(C)]
struct Context {
    cdev: Opaque<bindings::context_device>,
    dma_mask: Opaque<u64>,
    dma_parms: Opaque<bindings::device_dma_parameters>,
    /// Result of the last [`dma_configure`], to tell "IOMMU not probed yet" from "no IOMMU".
    configure_err: Opaque<c_int>,
    /// The device's name, its key in [`CONTEXTS`].
    name: Name,
    /// The node that describes the IOMMU context, referenced.
    np: *mut bindings::device_node,
    /// `np` carries an `iommu-map` looked up with `fn_id`, rather than `iommus` of its own.
    uses_map: bool,
    /// The caller accepts an identity (passthrough) domain; only without a window.
    allow_identity: bool,
    fn_id: u32,
    /// Zero when there is no window.
    iova_start: u64,
    /// Zero for no window.
    iova_size: u64,
}

impl Context {
    const DEV_OFFSET: usize =
        core::mem::offset_of!(Context, cdev) + core::mem::offset_of!(bindings::context_device, dev);

    /// Returns the context of `dev`, or `None` if `dev` is not a context device.
    ///
    /// # Safety
    ///
    /// `dev` must be a valid device for `'a`.
    unsafe fn from_dev<'a>(dev: *const bindings::device) -> Option<&'a Context> {
        // SAFETY: `dev` is valid (caller).
        if unsafe { (*dev).type_ } != &raw const CONTEXT_TYPE.0 {
            return None;
        }
        // SAFETY: Only `Request::create()` gives a device `CONTEXT_TYPE`, and only the `cdev.dev`
        // of a `Context` it allocated; the `Context` lives until the device's `release()`, so
        // as long as `dev` is valid. `Context` is `repr(C)` and `Opaque<T>` has the layout of `T`.
        Some(unsafe { &*dev.byte_sub(Self::DEV_OFFSET).cast::<Context>() })
    }

    fn dev(&self) -> *mut bindings::device {
        // SAFETY: `cdev` is a valid `context_device`; no reference is created.
        unsafe { &raw mut (*self.cdev.get()).dev }
    }

    fn same_window(&self, other: &Context) -> bool {
        self.iova_start == other.iova_start && self.iova_size == other.iova_size
    }
}

/// The checked content of a `struct context_device_info`.
struct Request<'a> {
    parent: &'a Device,
    parent_raw: *mut bindings::device,
    np: *mut bindings::device_node,
    name: Name,
    uses_map: bool,
    allow_identity: bool,
    fn_id: u32,
    dma_mask: u64,
    iova_start: u64,
    iova_size: u64,
}

/// Logs a refusal against the parent and returns its error.
///
/// `-EPROBE_DEFER` is not an error: it is logged at debug level only.
macro_rules! refuse {
    ($parent:expr, $fn_id:expr, $err:expr, $($fmt:tt)*) => {{
        let err: Error = $err;
        if err == EPROBE_DEFER {
            dev_dbg!($parent, "context device fn_id {}: {}\n", $fn_id, fmt!($($fmt)*));
        } else {
            dev_err!($parent, "context device fn_id {}: {}\n", $fn_id, fmt!($($fmt)*));
        }
        err
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
        if info.flags & !bindings::CONTEXT_DEVICE_ALLOW_IDENTITY != 0 {
            return Err(refuse!(
                parent,
                fn_id,
                EINVAL,
                "unknown flags {:#x}",
                info.flags
            ));
        }
        // A size of 0 means no window, wherever it would start.
        let (iova_start, iova_size) = match info.iova_size {
            0 => (0, 0),
            size => (info.iova_start, size),
        };
        if iova_size != 0 {
            // The window may end at 2^64: only its last byte has to exist.
            let Some(last) = iova_start.checked_add(iova_size - 1) else {
                return Err(refuse!(parent, fn_id, EOVERFLOW, "IOVA window overflows"));
            };
            if last > info.dma_mask {
                return Err(refuse!(
                    parent,
                    fn_id,
                    ERANGE,
                    "IOVA window {:#x}-{:#x} is outside the DMA mask {:#x}",
                    iova_start,
                    last,
                    info.dma_mask
                ));
            }
            // Alignment is checked against the IOMMU's granule once the device has a domain.
        }

        let uses_map = has_property(info.np, c"iommu-map");
        if uses_map {
            let mut args: bindings::of_phandle_args = pin_init::zeroed();
            // SAFETY: `info.np` is a valid node and `args` a valid result buffer.
            let ret = unsafe { bindings::of_map_iommu_id(info.np, fn_id, &mut args) };
            if ret < 0 {
                // `of_map_id()` says -ENODEV for a phandle that names no node, -EFAULT for an
                // id outside the map mask: all of them mean a map that cannot be read.
                return Err(refuse!(
                    parent,
                    fn_id,
                    EINVAL,
                    "malformed iommu-map (of_map_id: {:?})",
                    Error::from_errno(ret)
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
            CString::try_from_fmt(fmt!("{}:ctx.{}", parent.name(), fn_id))?
        } else {
            // SAFETY: A non-NULL `info.name` is a NUL-terminated string (C API contract).
            CString::try_from(unsafe { CStr::from_char_ptr(info.name) })?
        };
        // sysfs would turn '/' into '!', so that the index of names and sysfs disagreed.
        let bytes = name.to_bytes();
        if bytes.is_empty() || bytes.contains(&b'/') {
            return Err(refuse!(
                parent,
                fn_id,
                EINVAL,
                "name {:?} is empty or has a '/'",
                name.as_ref() as &CStr
            ));
        }

        Ok(Self {
            parent,
            parent_raw,
            np: info.np,
            name: Name(name),
            uses_map,
            allow_identity: info.flags & bindings::CONTEXT_DEVICE_ALLOW_IDENTITY != 0,
            fn_id,
            dma_mask: info.dma_mask,
            iova_start,
            iova_size,
        })
    }

    /// Makes the device: on the bus, attached to its IOMMU, window reserved.
    ///
    /// The transaction: take the name, add the device with its uevents held back, claim the
    /// IOMMU group's default domain, check the context under the claim, then announce the
    /// device. A refusal undoes these steps in reverse order.
    fn create(self) -> Result<NonNull<bindings::context_device>> {
        let (parent, fn_id) = (self.parent, self.fn_id);
        // Everything that can fail for want of memory comes before the name is taken.
        let key = Name(CString::try_from(self.name.as_cstr())?);
        let node = RBTreeNode::new(key, (), GFP_KERNEL)?;
        let mut ctx = KBox::new(
            Context {
                cdev: Opaque::zeroed(),
                dma_mask: Opaque::new(self.dma_mask),
                dma_parms: Opaque::zeroed(),
                configure_err: Opaque::new(0),
                name: self.name,
                np: ptr::null_mut(),
                uses_map: self.uses_map,
                allow_identity: self.allow_identity,
                fn_id,
                iova_start: self.iova_start,
                iova_size: self.iova_size,
            },
            GFP_KERNEL,
        )?;

        let mut names = CONTEXTS.lock();
        let Some(names) = names.as_mut() else {
            return Err(ENODEV);
        };
        if names.get(&ctx.name).is_some() {
            return Err(refuse!(
                parent,
                fn_id,
                EEXIST,
                "{} exists",
                name_str(&ctx.name)
            ));
        }
        // SAFETY: `self.np` is a valid node (C API contract); `release()` puts it.
        ctx.np = unsafe { bindings::of_node_get(self.np) };

        let ctx = KBox::into_raw(ctx);
        // SAFETY: `ctx` is a fresh `Context`, owned here until `device_initialize()` hands it to
        // the device's reference count and `release()`.
        let dev = unsafe {
            let dev = (*ctx).dev();
            bindings::device_initialize(dev);
            (*dev).parent = self.parent_raw;
            (*dev).bus = bus();
            (*dev).type_ = &raw const CONTEXT_TYPE.0;
            (*dev).dma_mask = (*ctx).dma_mask.get();
            (*dev).coherent_dma_mask = self.dma_mask;
            (*dev).dma_parms = (*ctx).dma_parms.get();
            if !(*ctx).uses_map {
                // The node is the context's own: show it, and let `of_dma_configure_id()`
                // find the DMA parent from it. `np` holds the reference.
                bindings::device_set_node(dev, &raw mut (*(*ctx).np).fwnode);
            }
            // Nobody hears of the device before it is usable.
            (*dev).kobj.set_uevent_suppress(1);
            dev
        };

        // From here on `put_device()` frees everything through `release()`.
        let put = |err: Error| {
            // SAFETY: `dev` was initialised and holds the reference taken at initialisation.
            unsafe { bindings::put_device(dev) };
            err
        };
        // SAFETY: `ctx` stays valid while `dev` is referenced.
        let ctx = unsafe { &*ctx };
        // SAFETY: `dev` is initialised; the format takes one string.
        to_result(unsafe {
            bindings::dev_set_name(dev, c"%s".as_char_ptr(), ctx.name.as_cstr().as_char_ptr())
        })
        .map_err(put)?;
        // SAFETY: `dev` is initialised, named, on the bus.
        to_result(unsafe { bindings::device_add(dev) })
            .map_err(|e| put(refuse!(parent, fn_id, e, "device_add() failed: {:?}", e)))?;

        if let Err(e) = Self::claim_iommu(parent, ctx) {
            // SAFETY: `dev` was added above and announced to nobody; the reference is dropped
            // by `put`.
            unsafe { bindings::device_del(dev) };
            return Err(put(e));
        }

        // Not a replacement: the name was checked under the same lock.
        let _ = names.insert(node);
        // SAFETY: `dev` is added and usable: announce it.
        unsafe {
            (*dev).kobj.set_uevent_suppress(0);
            bindings::kobject_uevent(&raw mut (*dev).kobj, bindings::kobject_action_KOBJ_ADD);
        }
        // SAFETY: `dev` is the `dev` of the `context_device` `cdev`.
        Ok(unsafe { NonNull::new_unchecked(ctx.cdev.get()) })
    }

    /// Claims the device's IOMMU group for the DMA API, then checks the context under the
    /// claim; releases the claim on refusal.
    ///
    /// Under the claim the group's domain cannot change: a write to
    /// `/sys/kernel/iommu_groups/N/type` is refused while the group has an owner.
    fn claim_iommu(parent: &Device, ctx: &Context) -> Result {
        let (fn_id, dev) = (ctx.fn_id, ctx.dev());

        let err = {
            let _guard = CONFIGURE_LOCK.lock();
            // SAFETY: Written only by `dma_configure()`, under `CONFIGURE_LOCK`.
            unsafe { *ctx.configure_err.get() }
        };
        match err {
            0 => (),
            e if e == EPROBE_DEFER.to_errno() => {
                return Err(refuse!(parent, fn_id, EPROBE_DEFER, "IOMMU not probed yet"));
            }
            e if e == ERANGE.to_errno() => {
                return Err(refuse!(
                    parent,
                    fn_id,
                    ERANGE,
                    "IOVA window {:#x}+{:#x} is outside the node's dma-ranges",
                    ctx.iova_start,
                    ctx.iova_size
                ));
            }
            e if e == ENOMEM.to_errno() => return Err(ENOMEM),
            e => {
                return Err(refuse!(
                    parent,
                    fn_id,
                    ENODEV,
                    "not behind an IOMMU: configuring it failed with {:?}",
                    Error::from_errno(e)
                ));
            }
        }
        // SAFETY: `dev` is a registered device; its group is set by the IOMMU core's probe and
        // stays until `device_del()`.
        if unsafe { (*dev).iommu_group }.is_null() {
            return Err(refuse!(
                parent,
                fn_id,
                ENODEV,
                "not behind an IOMMU: no IOMMU driver took the device"
            ));
        }
        // SAFETY: `dev` is in an IOMMU group.
        to_result(unsafe { bindings::iommu_device_use_default_domain(dev) }).map_err(|e| {
            refuse!(
                parent,
                fn_id,
                e,
                "cannot claim the IOMMU group's default domain: {:?}",
                e
            )
        })?;
        Self::check_iommu(parent, ctx).inspect_err(|_| {
            // SAFETY: Claimed just above.
            unsafe { bindings::iommu_device_unuse_default_domain(dev) };
        })
    }

    /// The checks that need the IOMMU core to have probed the device, made under the claim.
    fn check_iommu(parent: &Device, ctx: &Context) -> Result {
        let (fn_id, dev) = (ctx.fn_id, ctx.dev());

        // SAFETY: `dev` is in an IOMMU group whose default domain it has claimed.
        let domain = unsafe { bindings::iommu_get_domain_for_dev(dev) };
        // SAFETY: The domain is the group's default domain, which lives as long as the group,
        // and the group as long as `dev` is in it. Only a change of the group's type could
        // replace it, and sysfs refuses that while the group has an owner, as `dev` is now
        // (a change from DMA to DMA-FQ keeps the domain object).
        let Some(domain) = (unsafe { domain.as_ref() }) else {
            return Err(refuse!(parent, fn_id, ENODEV, "no IOMMU domain"));
        };
        let identity = domain.type_ == bindings::IOMMU_DOMAIN_IDENTITY;
        if identity {
            if ctx.iova_size != 0 {
                return Err(refuse!(
                    parent,
                    fn_id,
                    ENODEV,
                    "an identity domain cannot hold an IOVA window"
                ));
            }
            if !ctx.allow_identity {
                return Err(refuse!(
                    parent,
                    fn_id,
                    ENODEV,
                    "identity domain: DMA would not be translated"
                ));
            }
        } else if domain.type_ & bindings::__IOMMU_DOMAIN_DMA_API == 0 {
            return Err(refuse!(parent, fn_id, ENODEV, "no IOMMU DMA domain"));
        }
        if ctx.iova_size != 0 {
            let last = ctx.iova_start + (ctx.iova_size - 1);
            let aperture = &domain.geometry;
            if ctx.iova_start < aperture.aperture_start || last > aperture.aperture_end {
                return Err(refuse!(
                    parent,
                    fn_id,
                    ERANGE,
                    "IOVA window {:#x}-{:#x} is outside the IOMMU aperture {:#x}-{:#x}",
                    ctx.iova_start,
                    last,
                    aperture.aperture_start,
                    aperture.aperture_end
                ));
            }
            if domain.pgsize_bitmap == 0 {
                return Err(refuse!(
                    parent,
                    fn_id,
                    ENODEV,
                    "IOMMU domain has no page size"
                ));
            }
            let granule = 1u64 << domain.pgsize_bitmap.trailing_zeros();
            if (ctx.iova_start | ctx.iova_size) & (granule - 1) != 0 {
                return Err(refuse!(
                    parent,
                    fn_id,
                    EINVAL,
                    "IOVA window {:#x}+{:#x} is not aligned to the IOVA granule {:#x}",
                    ctx.iova_start,
                    ctx.iova_size,
                    granule
                ));
            }
        }
        // SAFETY: `dev` is a registered device.
        if !identity && !unsafe { bindings::dev_dma_iommu(dev) } {
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
            // SAFETY: `other_window()` took a reference to `clash` for us.
            let other: &Device = unsafe { Device::from_raw(clash) };
            let err = refuse!(
                parent,
                fn_id,
                EBUSY,
                "shares its IOMMU group with {}, whose IOVA window differs",
                other.name()
            );
            // SAFETY: The reference `other_window()` took.
            unsafe { bindings::put_device(clash) };
            return Err(err);
        }
        Ok(())
    }
}

fn name_str(name: &Name) -> &str {
    name.as_cstr().to_str().unwrap_or("?")
}

/// `iommu_group_for_each_dev()` callback: finds a device whose window differs from ours and
/// returns it referenced, since it is used after the group's lock is dropped.
unsafe extern "C" fn other_window(dev: *mut bindings::device, data: *mut c_void) -> c_int {
    // SAFETY: `data` is the `(ctx, clash)` tuple of `check_iommu()`.
    let (ctx, clash) = unsafe { &mut *data.cast::<(&Context, &mut *mut bindings::device)>() };
    if dev == ctx.dev() {
        return 0;
    }
    // SAFETY: `dev` is valid during the callback; devices of other buses have no window.
    let same = match unsafe { Context::from_dev(dev) } {
        Some(other) => ctx.same_window(other),
        None => ctx.iova_size == 0,
    };
    if !same {
        // SAFETY: `dev` is valid during the callback, which runs under the group's lock.
        **clash = unsafe { bindings::get_device(dev) };
        return 1;
    }
    0
}

/// Bus `match`: no driver binds to a context device.
unsafe extern "C" fn match_no_driver(
    _dev: *mut bindings::device,
    _drv: *const bindings::device_driver,
) -> c_int {
    0
}

/// Bus `dma_configure`: the IOMMU, then the window.
///
/// Called by the IOMMU core from `iommu_probe_device()` with no driver bound (and none ever
/// binds); it does not look at `dev->driver`. The IOMMU core calls it without a lock and may
/// call it again for the same device, so it runs under [`CONFIGURE_LOCK`] and confines the
/// device to its window only once.
unsafe extern "C" fn dma_configure(dev: *mut bindings::device) -> c_int {
    // SAFETY: The IOMMU core passes a valid device, which it keeps for the call.
    let Some(ctx) = (unsafe { Context::from_dev(dev) }) else {
        return ENODEV.to_errno();
    };
    let _guard = CONFIGURE_LOCK.lock();
    let ret = from_result(|| {
        let id: *const u32 = if ctx.uses_map {
            &ctx.fn_id
        } else {
            ptr::null()
        };
        // SAFETY: `dev` is valid and `ctx.np` referenced; `CONFIGURE_LOCK` serialises the
        // writers of the device's DMA configuration, which nothing uses for DMA before its
        // creation succeeds. The first call sets the range map the node's `dma-ranges` give, if
        // any; later calls keep the map there is.
        to_result(unsafe { bindings::of_dma_configure_id(dev, ctx.np, true, id) })?;
        // SAFETY: As above.
        if ctx.iova_size != 0 && !unsafe { bindings::dev_dma_range_strict(dev) } {
            // SAFETY: As above.
            unsafe { confine_to_window(dev, ctx.iova_start, ctx.iova_size) }?;
        }
        Ok(0)
    });
    // SAFETY: Written and read only under `CONFIGURE_LOCK`, held here.
    unsafe { *ctx.configure_err.get() = ret };
    ret
}

/// Confines the device's DMA addresses to `[start, start + size)`: its range map becomes the
/// window, intersected with the map the node's `dma-ranges` gave (a window never widens them),
/// and dma-iommu reserves every IOVA outside it.
///
/// Fails with `ERANGE` if the window and the `dma-ranges` do not meet.
///
/// # Safety
///
/// `dev` must be valid and not in use by the DMA API yet, and its DMA configuration must not
/// change concurrently.
unsafe fn confine_to_window(dev: *mut bindings::device, start: u64, size: u64) -> Result {
    let last = start + (size - 1);
    let mut map = KVec::<bindings::bus_dma_region>::new();
    // SAFETY: Guaranteed by the caller.
    let old = unsafe { (*dev).dma_range_map };
    if old.is_null() {
        map.push(
            bindings::bus_dma_region {
                cpu_start: start,
                dma_start: start,
                size,
            },
            GFP_KERNEL,
        )?;
    } else {
        let mut region = old;
        loop {
            // SAFETY: A range map is an array of regions that ends with one of size 0; the
            // device owns it and nothing changes it concurrently (caller).
            let r = unsafe { *region };
            if r.size == 0 {
                break;
            }
            let lo = r.dma_start.max(start);
            let hi = (r.dma_start + (r.size - 1)).min(last);
            if lo <= hi {
                let region = bindings::bus_dma_region {
                    cpu_start: r.cpu_start + (lo - r.dma_start),
                    dma_start: lo,
                    size: hi - lo + 1,
                };
                map.push(region, GFP_KERNEL)?;
            }
            // SAFETY: `region` is not the terminating region, so the array goes on.
            region = unsafe { region.add(1) };
        }
        if map.is_empty() {
            return Err(ERANGE);
        }
    }
    let limit = map
        .iter()
        .map(|r| r.dma_start + (r.size - 1))
        .max()
        .unwrap_or(last);
    map.push(pin_init::zeroed(), GFP_KERNEL)?;
    let (map, _, _) = map.into_raw_parts();
    // SAFETY: Guaranteed by the caller. The old map came from `kmalloc()` (the OF core) or is
    // NULL; the new one comes from `kmalloc()` too, and the driver core frees it with `kfree()`.
    unsafe {
        (*dev).dma_range_map = map.cast_const();
        (*dev).bus_dma_limit = limit;
        bindings::dev_set_dma_range_strict(dev);
        bindings::kfree(old.cast());
    }
    Ok(())
}

/// Device release: the last reference to a context device is gone.
unsafe extern "C" fn release(dev: *mut bindings::device) {
    // SAFETY: `release` is only set in `CONTEXT_TYPE`, so `dev` is a context device.
    let Some(ctx) = (unsafe { Context::from_dev(dev) }) else {
        return;
    };
    // SAFETY: The node was referenced in `create()`; nothing uses the device any more.
    unsafe { bindings::of_node_put(ctx.np) };
    let ctx = ptr::from_ref(ctx).cast_mut();
    // SAFETY: `ctx` came from `KBox::into_raw()` in `create()`; this is the last user.
    drop(unsafe { KBox::from_raw(ctx) });
}

/// Bus `uevent`: lets udev tell context devices apart.
unsafe extern "C" fn uevent(
    dev: *const bindings::device,
    env: *mut bindings::kobj_uevent_env,
) -> c_int {
    // SAFETY: The driver core passes a valid device of this bus.
    let Some(ctx) = (unsafe { Context::from_dev(dev) }) else {
        return 0;
    };
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
            // SAFETY: sysfs passes a valid device that has this attribute.
            let Some(ctx) = (unsafe { Context::from_dev(dev) }) else {
                return ENODEV.to_errno() as isize;
            };
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
    let dev = unsafe { &raw mut (*cdev).dev };
    // SAFETY: `dev` is a live context device (caller).
    let Some(ctx) = (unsafe { Context::from_dev(dev) }) else {
        return;
    };
    {
        // The name is given back together with the sysfs entries that carry it.
        let mut names = CONTEXTS.lock();
        if let Some(names) = names.as_mut() {
            names.remove(&ctx.name);
        }
        // SAFETY: `dev` was added and claimed its group's default domain in `create()`.
        unsafe {
            bindings::iommu_device_unuse_default_domain(dev);
            bindings::device_del(dev);
        }
    }
    // SAFETY: Drops the creator's reference; `ctx` is not used after this.
    unsafe { bindings::put_device(dev) };
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
    unsafe { Context::from_dev(dev) }.is_some()
}

fn context_bus_init() -> Result {
    // SAFETY: Called once, before anything can take the locks.
    unsafe {
        CONTEXTS.init();
        CONFIGURE_LOCK.init();
    }
    *CONTEXTS.lock() = Some(RBTree::new());
    // SAFETY: The bus type is a valid, static `bus_type`.
    to_result(unsafe { bindings::bus_register(bus()) })
}

kernel::initcall!(postcore, context_bus_init);
