// SPDX-License-Identifier: GPL-2.0

//! Device attributes: the files of a device's directory in sysfs.
//!
//! An [`Attribute`] is a read-only `struct device_attribute` whose `show` is the method of a
//! [`Show`] implementation. Attributes are gathered in an [`AttributeList`], lists in an
//! [`AttributeGroup`], and groups in a [`GroupList`], all of them immutable `static`s that C reads,
//! as C's `ATTRIBUTE_GROUPS()` makes them. A [`dynamic::Type`](super::dynamic::Type) gives its
//! groups to every device of its type.
//!
//! C header: [`include/linux/device.h`](srctree/include/linux/device.h)

use crate::{bindings, device::Device, ffi::c_char, prelude::*, str::Formatter};

/// The `show` method of a read-only attribute.
pub trait Show: 'static {
    /// Writes the value of the attribute of `dev` to `f`, a sysfs page.
    fn show(dev: &Device, f: &mut Formatter<'_>) -> Result;
}

/// A read-only device attribute, `struct device_attribute`.
///
/// # Invariants
///
/// `self.0` is never changed after its constant initialisation; its `show`, if any, is
/// `show_callback()` of a [`Show`] implementation.
///
/// # Examples
///
/// ```
/// use kernel::device::{
///     attribute::{Attribute, AttributeGroup, AttributeList, GroupList, Show},
///     Device,
/// };
/// use kernel::{prelude::*, str::Formatter};
/// use core::fmt::Write;
///
/// struct Answer;
///
/// impl Show for Answer {
///     fn show(_dev: &Device, f: &mut Formatter<'_>) -> Result {
///         writeln!(f, "{}", 42)?;
///         Ok(())
///     }
/// }
///
/// static ANSWER: Attribute = Attribute::read_only::<Answer>(c"answer");
/// static ATTRS: AttributeList<2> = AttributeList::new([Some(&ANSWER), None]);
/// static GROUP: AttributeGroup = AttributeGroup::new(&ATTRS);
/// static GROUPS: GroupList<2> = GroupList::new([Some(&GROUP), None]);
/// # let _ = &GROUPS;
/// ```
#[repr(transparent)]
pub struct Attribute(bindings::device_attribute);

// SAFETY: The attribute is never changed (type invariant); sysfs only reads it, from any thread,
// and its `show` may run on any thread.
unsafe impl Sync for Attribute {}

// A pointer to an `Attribute` is one to its `attr`, as `AttributeList` relies on.
const _: () = assert!(core::mem::offset_of!(bindings::device_attribute, attr) == 0);

impl Attribute {
    /// Makes a read-only attribute (mode 0444) named `name`, shown by `S`.
    pub const fn read_only<S: Show>(name: &'static CStr) -> Self {
        let mut attr: bindings::attribute = pin_init::zeroed();
        attr.name = crate::str::as_char_ptr_in_const_context(name);
        attr.mode = 0o444;
        // INVARIANT: `show` is the callback of `S`.
        Self(bindings::device_attribute {
            attr,
            __bindgen_anon_1: bindings::device_attribute__bindgen_ty_1 {
                show: Some(show_callback::<S>),
            },
            __bindgen_anon_2: pin_init::zeroed(),
        })
    }
}

/// The `show` of every [`Attribute`]: a sysfs read of the attribute of `dev`.
///
/// # Safety
///
/// `dev` must be a valid device, `buf` a sysfs page (`PAGE_SIZE` bytes) that nothing else uses
/// during the call.
unsafe extern "C" fn show_callback<S: Show>(
    dev: *mut bindings::device,
    _attr: *mut bindings::device_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: sysfs passes a valid device that has this attribute, kept for the call.
    let dev = unsafe { Device::from_raw(dev) };
    // SAFETY: sysfs passes a page of its own, `PAGE_SIZE` bytes long.
    let page = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), crate::page::PAGE_SIZE) };
    let mut f = Formatter::new(page);
    match S::show(dev, &mut f) {
        // A page is shorter than `isize::MAX`.
        Ok(()) => f.bytes_written() as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// A NULL-terminated array of attributes, as `struct attribute_group` takes.
///
/// # Invariants
///
/// The last element is `None` (NULL), and no other; the array never changes.
#[repr(transparent)]
pub struct AttributeList<const N: usize>([Option<&'static Attribute>; N]);

impl<const N: usize> AttributeList<N> {
    /// Makes a list of `attrs`, whose last element must be `None` (checked at compile time in a
    /// `static`).
    pub const fn new(attrs: [Option<&'static Attribute>; N]) -> Self {
        assert!(N > 0 && attrs[N - 1].is_none());
        let mut i = 0;
        while i + 1 < N {
            assert!(attrs[i].is_some());
            i += 1;
        }
        // INVARIANT: Checked just above.
        Self(attrs)
    }
}

/// A group of attributes, `struct attribute_group`, with no name (its attributes are in the
/// device's own directory).
///
/// # Invariants
///
/// `self.0` is never changed after its constant initialisation, and its `attrs` is the array of
/// an [`AttributeList`] that lives forever.
#[repr(transparent)]
pub struct AttributeGroup(bindings::attribute_group);

// SAFETY: The group is never changed (type invariant) and sysfs only reads it.
unsafe impl Sync for AttributeGroup {}

impl AttributeGroup {
    /// Makes a group of the attributes in `attrs`.
    pub const fn new<const N: usize>(attrs: &'static AttributeList<N>) -> Self {
        // `Option<&Attribute>` is a nullable pointer to a `device_attribute`, whose `attr` is at
        // offset 0: the list is an array of `struct attribute *` that ends with NULL.
        let attrs = attrs.0.as_ptr().cast::<*const bindings::attribute>();
        // INVARIANT: `attrs` comes from a `'static` list.
        Self(bindings::attribute_group {
            __bindgen_anon_2: bindings::attribute_group__bindgen_ty_2 { attrs_const: attrs },
            ..pin_init::zeroed()
        })
    }
}

/// A NULL-terminated array of attribute groups, as `struct device_type` takes.
///
/// # Invariants
///
/// The last element is `None` (NULL), and no other; the array never changes.
#[repr(transparent)]
pub struct GroupList<const N: usize>([Option<&'static AttributeGroup>; N]);

impl<const N: usize> GroupList<N> {
    /// Makes a list of `groups`, whose last element must be `None`.
    pub const fn new(groups: [Option<&'static AttributeGroup>; N]) -> Self {
        assert!(N > 0 && groups[N - 1].is_none());
        let mut i = 0;
        while i + 1 < N {
            assert!(groups[i].is_some());
            i += 1;
        }
        // INVARIANT: Checked just above.
        Self(groups)
    }

    /// Returns the list as C's `const struct attribute_group **`.
    #[inline]
    pub const fn as_raw(&'static self) -> *const *const bindings::attribute_group {
        // `Option<&AttributeGroup>` is a nullable pointer to a transparent `attribute_group`.
        self.0.as_ptr().cast()
    }
}
