// SPDX-License-Identifier: GPL-2.0

//! The context device bus.
//!
//! A context device stands for one IOMMU context of its parent: its own stream ID, IOMMU group
//! and IOVA space, optionally limited to an IOVA window. Parent drivers create them at run time
//! with `context_device_create()` (C, `include/linux/context_bus.h`) or
//! `kernel::context_bus::ContextDevice::create()` (Rust, through the C API) and use them directly
//! with the DMA API; no driver ever binds to one.
//!
//! This file is the bus and its C API: the functions of `include/linux/context_bus.h` are
//! defined here, with `#[export]` checking each against its C prototype, and exported to modules
//! by `context_bus_exports.c`, which also defines `devm_context_device_create()` on top of them.
//!
//! The bus is registered at postcore level so that it exists before the IOMMU core registers its
//! bus notifiers (`iommu_subsys_init()`, a subsys initcall): the IOMMU core then probes every new
//! context device and calls [`dma_configure`] for it.
//!
//! See `Documentation/driver-api/context-bus.rst`.

use core::{cmp::Ordering, fmt::Write, ops::RangeInclusive, ptr::NonNull};
use kernel::{
    // The C types of the C API's signatures; no C function is called from here.
    bindings as c,
    bus::{self, DmaConfig, UeventEnv},
    device::{
        attribute::{Attribute, AttributeGroup, AttributeList, GroupList, Show},
        dynamic, Device,
    },
    iommu::group::{DmaDomainClaim, Group},
    new_mutex,
    of,
    prelude::*,
    rbtree::{RBTree, RBTreeNode},
    str::{CString, Formatter},
    sync::{
        aref::ARef,
        atomic::{Acquire, Atomic, Release},
        Mutex,
    },
};

const __LOG_PREFIX: &[u8] = b"context_bus\0";

/// The bus's callbacks, those of [`context_device_bus_type`].
pub struct ContextBus;

/// The bus type, `context_device_bus_type` in C.
///
/// Its `match` refuses every driver: context devices are used by their parent directly, and a
/// driver bound to one would rerun [`ContextBus::dma_configure`] and tear the IOMMU setup down on
/// unbind.
#[no_mangle]
pub static context_device_bus_type: bus::Type<ContextBus> = bus::Type::new(c"context-device");

/// The device type of every context device: what tells a context device from others.
static CONTEXT_TYPE: dynamic::Type<Context> = dynamic::Type::new(c"context", &DEV_GROUPS);

/// The names of the context devices that exist, so that a name is checked without walking the
/// bus.
type Names = Option<RBTree<Name, ()>>;

kernel::sync::global_lock! {
    // SAFETY: Initialised by `context_bus_init()` before the bus is registered.
    //
    // Held from the name check of a create to its end (`device_add()` and the IOMMU checks),
    // and from the name's removal in a destroy to its `device_del()`: a name is taken and
    // given back together with the sysfs entries that carry it.
    //
    // Lock order: this lock, then the bus abstraction's lock around `dma_configure`
    // (`device_add()` reaches it through the IOMMU bus notifier), then
    // `iommu_probe_device_lock` and the group's mutex (taken by `of_dma_configure_id()`).
    unsafe(uninit) static CONTEXTS: Mutex<Names> = None;
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

/// What the bus keeps for one context device, beside its `struct device`.
///
/// Everything but `configure_err` and `claim` is set before the device is initialised and never
/// changes.
#[pin_data]
struct Context {
    /// The parent, named in uevents.
    parent: ARef<Device>,
    /// Result of the last [`ContextBus::dma_configure`], to tell "IOMMU not probed yet" from
    /// "no IOMMU".
    configure_err: Atomic<i32>,
    /// The device's claim on its group's default domain, from its creation to its destruction.
    /// The claim holds a reference to the device, a cycle that only [`destroy`] breaks: every
    /// device whose claim is set here is destroyed that way, never merely dropped.
    #[pin]
    claim: Mutex<Option<DmaDomainClaim>>,
    /// The device's name, its key in [`CONTEXTS`].
    name: Name,
    /// The node that describes the IOMMU context.
    np: ARef<of::Node>,
    /// `np` carries an `iommu-map` looked up with `fn_id`, rather than `iommus` of its own.
    uses_map: bool,
    /// The caller accepts an identity (passthrough) domain; a confined device never gets one.
    allow_identity: bool,
    /// The caller accepts sharing the IOMMU group with context devices that accept it too and
    /// have the same window.
    share_group: bool,
    fn_id: u32,
    /// Zero when there is no window.
    iova_start: u64,
    /// Zero for no window.
    iova_size: u64,
    /// The `iommu-ranges` of a context's own node, sorted: the IOMMU core reserves every IOVA
    /// outside them, as it does outside the window. Empty for none.
    ranges: KVec<RangeInclusive<u64>>,
}

impl Context {
    fn same_window(&self, other: &Context) -> bool {
        self.iova_start == other.iova_start
            && self.iova_size == other.iova_size
            && self.ranges[..] == other.ranges[..]
    }

    /// The window's addresses; `None` for no window.
    fn window(&self) -> Option<RangeInclusive<u64>> {
        (self.iova_size != 0).then(|| self.iova_start..=self.iova_start + (self.iova_size - 1))
    }
}

/// Flags of `struct context_device_info`.
const ALLOW_IDENTITY: u32 = c::CONTEXT_DEVICE_ALLOW_IDENTITY;
const SHARE_GROUP: u32 = c::CONTEXT_DEVICE_SHARE_GROUP;

/// What `context_device_create()` is asked for, `struct context_device_info`: the pointers
/// checked for NULL.
struct Info<'a> {
    np: Option<&'a of::Node>,
    /// `None` for the default name.
    name: Option<&'a CStr>,
    fn_id: u32,
    dma_mask: u64,
    iova_start: u64,
    /// 0 for no window.
    iova_size: u64,
    flags: u32,
}

/// The checked content of a `struct context_device_info`.
struct Request<'a> {
    parent: &'a Device,
    np: &'a of::Node,
    name: Name,
    uses_map: bool,
    allow_identity: bool,
    share_group: bool,
    fn_id: u32,
    dma_mask: u64,
    iova_start: u64,
    iova_size: u64,
    ranges: KVec<RangeInclusive<u64>>,
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

impl<'a> Request<'a> {
    /// Checks everything that can be checked before the device exists.
    fn new(parent: &'a Device, info: &Info<'a>) -> Result<Self> {
        let fn_id = info.fn_id;
        let Some(np) = info.np else {
            return Err(refuse!(parent, fn_id, EINVAL, "no device tree node"));
        };
        if info.dma_mask == 0 {
            return Err(refuse!(parent, fn_id, EINVAL, "DMA mask is 0"));
        }
        if info.flags & !(ALLOW_IDENTITY | SHARE_GROUP) != 0 {
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

        let uses_map = np.property_present(c"iommu-map");
        if uses_map {
            match np.map_iommu_id(fn_id) {
                // `of_map_id()` says -ENODEV for a phandle that names no node, -EFAULT for an
                // id outside the map mask: all of them mean a map that cannot be read.
                Err(e) => {
                    return Err(refuse!(
                        parent,
                        fn_id,
                        EINVAL,
                        "malformed iommu-map (of_map_id: {:?})",
                        e
                    ));
                }
                Ok(None) => return Err(refuse!(parent, fn_id, ENXIO, "not covered by iommu-map")),
                Ok(Some(_translated)) => (),
            }
        } else if !np.property_present(c"iommus") {
            return Err(refuse!(
                parent,
                fn_id,
                ENOENT,
                "node has neither iommu-map nor iommus"
            ));
        }

        // A context's own node may carry `iommu-ranges`, outside which the IOMMU core reserves
        // every IOVA; a window given as well leaves the device where both allow.
        let ranges = if uses_map {
            KVec::new()
        } else {
            np.iommu_ranges()
                .map_err(|e| refuse!(parent, fn_id, e, "malformed iommu-ranges: {:?}", e))?
        };
        if let Some(range) = ranges.iter().find(|range| *range.end() > info.dma_mask) {
            return Err(refuse!(
                parent,
                fn_id,
                ERANGE,
                "iommu-ranges {:#x}-{:#x} is outside the DMA mask {:#x}",
                range.start(),
                range.end(),
                info.dma_mask
            ));
        }
        if iova_size != 0 && !ranges.is_empty() {
            // Checked above: the window's last byte exists.
            let last = iova_start + (iova_size - 1);
            if !ranges
                .iter()
                .any(|range| *range.start() <= last && *range.end() >= iova_start)
            {
                return Err(refuse!(
                    parent,
                    fn_id,
                    ERANGE,
                    "IOVA window {:#x}-{:#x} meets none of the node's iommu-ranges",
                    iova_start,
                    last
                ));
            }
        }

        let name = match info.name {
            None => CString::try_from_fmt(fmt!("{}:ctx.{}", parent.name(), fn_id))?,
            Some(name) => CString::try_from(name)?,
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
            np,
            name: Name(name),
            uses_map,
            allow_identity: info.flags & ALLOW_IDENTITY != 0,
            share_group: info.flags & SHARE_GROUP != 0,
            fn_id,
            dma_mask: info.dma_mask,
            iova_start,
            iova_size,
            ranges,
        })
    }

    /// Makes the device: on the bus, attached to its IOMMU, window reserved.
    ///
    /// The transaction: take the name, add the device with its uevents held back, claim the
    /// IOMMU group's default domain, check the context under the claim, then announce the
    /// device. A refusal undoes these steps in reverse order.
    fn create(self) -> Result<dynamic::Added<Context>> {
        let (parent, fn_id) = (self.parent, self.fn_id);
        // Everything that can fail for want of memory comes before the name is taken.
        let key = Name(CString::try_from(self.name.as_cstr())?);
        let node = RBTreeNode::new(key, (), GFP_KERNEL)?;
        let ctx = try_pin_init!(Context {
            parent: parent.into(),
            configure_err: Atomic::new(0),
            claim <- new_mutex!(None),
            name: self.name,
            np: self.np.into(),
            uses_map: self.uses_map,
            allow_identity: self.allow_identity,
            share_group: self.share_group,
            fn_id,
            iova_start: self.iova_start,
            iova_size: self.iova_size,
            ranges: self.ranges,
        }? Error);
        // From here on dropping `new` frees everything through the device's release.
        // SAFETY: `CONTEXT_TYPE` and the bus type are statics of built-in code (the bus cannot be
        // a module), never freed.
        let new =
            unsafe { dynamic::Builder::new(&CONTEXT_TYPE, &context_device_bus_type, parent, ctx) }?;

        let mut names = CONTEXTS.lock();
        let Some(names) = names.as_mut() else {
            return Err(ENODEV);
        };
        let name = &new.data().name;
        if names.get(name).is_some() {
            return Err(refuse!(parent, fn_id, EEXIST, "{} exists", name_str(name)));
        }
        new.set_dma_mask(self.dma_mask);
        if !self.uses_map {
            // The node is the context's own: show it, and let `of_dma_configure_id()` find the
            // DMA parent from it.
            new.set_node(self.np.fwnode());
        }
        new.set_name(name.as_cstr())?;
        // Nobody hears of the device before it is usable.
        let added = new
            .device_add_quiet()
            .map_err(|e| refuse!(parent, fn_id, e, "device_add() failed: {:?}", e))?;

        // On refusal, dropping `added` deletes the device, announced to nobody, and frees it.
        let claim = Self::claim_iommu(parent, &added)?;
        *added.data().claim.lock() = Some(claim);

        // Not a replacement: the name was checked under the same lock.
        let _ = names.insert(node);
        Ok(added.announce())
    }

    /// Checks the device's IOMMU group, then claims its default domain for the DMA API, which
    /// the IOMMU core grants only if it translates the device's DMA within its window.
    ///
    /// Under the claim the group's domain cannot change: a write to
    /// `/sys/kernel/iommu_groups/N/type` is refused while the group has an owner.
    fn claim_iommu(parent: &Device, added: &dynamic::Added<Context>) -> Result<DmaDomainClaim> {
        let (ctx, dev) = (added.data(), added.device());
        let fn_id = ctx.fn_id;

        match ctx.configure_err.load(Acquire) {
            0 => (),
            e if e == EPROBE_DEFER.to_errno() => {
                return Err(refuse!(parent, fn_id, EPROBE_DEFER, "IOMMU not probed yet"));
            }
            e if e == ERANGE.to_errno() => {
                return Err(refuse!(
                    parent,
                    fn_id,
                    ERANGE,
                    "IOVA window {:#x}+{:#x} misses the node's dma-ranges",
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
        // The group is set by the IOMMU core's probe and stays until `device_del()`.
        let Some(group) = Group::of(dev) else {
            return Err(refuse!(
                parent,
                fn_id,
                ENODEV,
                "not behind an IOMMU: no IOMMU driver took the device"
            ));
        };
        // One context per group: a group has one domain and one IOVA space, so a device in it
        // is isolated from none of the others. Only context devices that all accept it, with
        // the same window, may share one.
        let clash = group.find_device(|other| {
            !core::ptr::eq(other, dev)
                && match CONTEXT_TYPE.data(other) {
                    Some(other) => {
                        !(ctx.share_group && other.share_group && ctx.same_window(other))
                    }
                    None => true,
                }
        });
        if let Some(other) = clash {
            return Err(refuse!(
                parent,
                fn_id,
                EBUSY,
                "shares its IOMMU group with {}: not both CONTEXT_DEVICE_SHARE_GROUP with one window",
                other.name()
            ));
        }
        // The IOMMU core checks the domain under the group's mutex, and logs against the device
        // why it refuses: a domain that does not translate, a window or `iommu-ranges` outside
        // its aperture or not aligned to its granule.
        DmaDomainClaim::new(added, ctx.allow_identity).map_err(|e| {
            refuse!(
                parent,
                fn_id,
                e,
                "the IOMMU core refuses its DMA domain: {:?}",
                e
            )
        })
    }
}

fn name_str(name: &Name) -> &str {
    name.as_cstr().to_str().unwrap_or("?")
}

impl bus::Operations for ContextBus {
    fn bus() -> &'static bus::Type<Self> {
        &context_device_bus_type
    }

    /// No driver binds to a context device.
    fn match_driver(_dev: &Device, _driver: &CStr) -> bool {
        false
    }

    /// Lets udev tell context devices apart.
    fn uevent(dev: &Device, env: &mut UeventEnv) -> Result {
        let Some(ctx) = CONTEXT_TYPE.data(dev) else {
            return Ok(());
        };
        env.add_var(fmt!("CONTEXT_FN_ID={}", ctx.fn_id))?;
        env.add_var(fmt!("CONTEXT_PARENT={}", ctx.parent.name()))
    }

    /// The IOMMU, then the window.
    ///
    /// Called by the IOMMU core from `iommu_probe_device()` with no driver bound (and none ever
    /// binds); it does not look at `dev->driver`. The IOMMU core may call it again for the same
    /// device (a late `bus_iommu_probe()`); the window it gives is the same each time.
    fn dma_configure(dev: &Device, config: &mut DmaConfig<'_>) -> Result {
        let ctx = CONTEXT_TYPE.data(dev).ok_or(ENODEV)?;
        let ret = (|| -> Result {
            // The first call sets the range map the node's `dma-ranges` give, if any; later
            // calls keep the map there is.
            config.of_configure(&ctx.np, true, ctx.uses_map.then_some(ctx.fn_id))?;
            if let Some(window) = ctx.window() {
                config.set_iova_window(window)?;
            }
            Ok(())
        })();
        let err = match ret {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        };
        ctx.configure_err.store(err, Release);
        ret
    }
}

/// The `fn_id` attribute.
struct FnId;

impl Show for FnId {
    fn show(dev: &Device, f: &mut Formatter<'_>) -> Result {
        let ctx = CONTEXT_TYPE.data(dev).ok_or(ENODEV)?;
        writeln!(f, "{}", ctx.fn_id)?;
        Ok(())
    }
}

/// Writes `value` as C's `%#llx` does: `0` for zero, `0x...` otherwise.
fn write_hex(f: &mut Formatter<'_>, value: u64) -> Result {
    if value == 0 {
        writeln!(f, "0")?;
    } else {
        writeln!(f, "{:#x}", value)?;
    }
    Ok(())
}

/// The `iova_start` attribute.
struct IovaStart;

impl Show for IovaStart {
    fn show(dev: &Device, f: &mut Formatter<'_>) -> Result {
        write_hex(f, CONTEXT_TYPE.data(dev).ok_or(ENODEV)?.iova_start)
    }
}

/// The `iova_size` attribute.
struct IovaSize;

impl Show for IovaSize {
    fn show(dev: &Device, f: &mut Formatter<'_>) -> Result {
        write_hex(f, CONTEXT_TYPE.data(dev).ok_or(ENODEV)?.iova_size)
    }
}

static FN_ID: Attribute = Attribute::read_only::<FnId>(c"fn_id");
static IOVA_START: Attribute = Attribute::read_only::<IovaStart>(c"iova_start");
static IOVA_SIZE: Attribute = Attribute::read_only::<IovaSize>(c"iova_size");
static ATTRS: AttributeList<4> =
    AttributeList::new([Some(&FN_ID), Some(&IOVA_START), Some(&IOVA_SIZE), None]);
static GROUP: AttributeGroup = AttributeGroup::new(&ATTRS);
static DEV_GROUPS: GroupList<2> = GroupList::new([Some(&GROUP), None]);

/// Destroys a context device made by [`Request::create`].
fn destroy(cdev: dynamic::Added<Context>) {
    let dev = {
        // The name is given back together with the sysfs entries that carry it.
        let mut names = CONTEXTS.lock();
        if let Some(names) = names.as_mut() {
            names.remove(&cdev.data().name);
        }
        // Given back before the device leaves its group.
        drop(cdev.data().claim.lock().take());
        cdev.delete()
    };
    // Drops the creator's reference, outside the lock.
    drop(dev);
}

/// C API: see `include/linux/context_bus.h`.
///
/// # Safety
///
/// `parent` and `info` must be NULL or valid for the call; a non-NULL `info->np` must be a node
/// referenced for the call, and a non-NULL `info->name` a NUL-terminated string.
#[export]
pub unsafe extern "C" fn context_device_create(
    parent: *mut c::device,
    info: *const c::context_device_info,
) -> *mut c::context_device {
    // SAFETY: `parent`, `info`, and the node and the name `info` points to, are NULL or valid for
    // the call (caller); the references made here do not outlive it.
    let (parent, info): (Option<&Device>, _) = unsafe {
        (
            NonNull::new(parent).map(|parent| Device::from_raw(parent.as_ptr())),
            info.as_ref().map(|info| Info {
                np: NonNull::new(info.np).map(|np| of::Node::from_raw(np.as_ptr())),
                name: NonNull::new(info.name.cast_mut())
                    .map(|name| CStr::from_char_ptr(name.as_ptr())),
                fn_id: info.fn_id,
                dma_mask: info.dma_mask,
                iova_start: info.iova_start,
                iova_size: info.iova_size,
                flags: info.flags,
            }),
        )
    };
    let Some(parent) = parent else {
        pr_err!("context_device_create(): no parent device\n");
        return EINVAL.to_ptr();
    };
    let Some(info) = info else {
        dev_err!(parent, "context device: no info\n");
        return EINVAL.to_ptr();
    };
    match Request::new(parent, &info).and_then(Request::create) {
        // C sees a context device as its `dev`, the first field of `struct context_device`.
        Ok(cdev) => cdev.into_raw().as_ptr().cast(),
        Err(e) => e.to_ptr(),
    }
}

/// C API: see `include/linux/context_bus.h`.
///
/// # Safety
///
/// `cdev` must be NULL or a device from `context_device_create()` not destroyed yet.
#[export]
pub unsafe extern "C" fn context_device_destroy(cdev: *mut c::context_device) {
    let Some(dev) = NonNull::new(cdev.cast()) else {
        return;
    };
    // SAFETY: `dev` is a live device that `context_device_create()` gave up through
    // `Added::into_raw()`, given back once (caller).
    if let Some(cdev) = unsafe { dynamic::Added::from_raw(&CONTEXT_TYPE, dev) } {
        destroy(cdev);
    }
}

/// C API: see `include/linux/context_bus.h`.
///
/// # Safety
///
/// `dev` must be NULL or a valid device.
#[export]
pub unsafe extern "C" fn dev_is_context_device(dev: *const c::device) -> bool {
    let Some(dev) = NonNull::new(dev.cast_mut()) else {
        return false;
    };
    // SAFETY: `dev` is a valid device (caller), for the call.
    CONTEXT_TYPE.owns(unsafe { Device::from_raw(dev.as_ptr()) })
}

fn context_bus_init() -> Result {
    // SAFETY: Called once, from the postcore initcall; nothing takes the lock earlier, as no
    // context device can be requested before drivers probe (device initcalls at the earliest).
    unsafe { CONTEXTS.init() };
    *CONTEXTS.lock() = Some(RBTree::new());
    // SAFETY: The bus type is a static of built-in code (the bus cannot be a module), never
    // freed; this initcall registers it once.
    unsafe { context_device_bus_type.register() }
}

kernel::initcall!(postcore, context_bus_init);
