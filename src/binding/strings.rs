//! String keys across N-API: a JS string is read as UTF-16 (as V8 holds
//! it, so a lone surrogate is seen rather than silently replaced), made
//! UTF-8, and mapped to its key part by `core::string_key` (docs/FORMAT.md,
//! "String keys") or interned (`core::strings`).

use std::ptr;

use napi::bindgen_prelude::{BigInt, Unknown};
use napi::{sys, Env, Error, JsValue, Result, Status};
use napi_derive::napi;

use crate::core::string_key::{self as key_of, utf8_from_utf16};

/// Reusable buffers for reading strings.
#[derive(Default)]
pub struct Scratch {
    utf16: Vec<u16>,
    utf8: Vec<u8>,
}

/// The most bytes a `Scratch` keeps between calls.
const KEEP_BYTES: usize = 64 * 1024;

impl Scratch {
    /// Lets go of buffers a huge string grew (a long key should not pin its
    /// copies for the table's life).
    pub fn trim(&mut self) {
        self.utf16.clear();
        self.utf16.shrink_to(KEEP_BYTES / 2);
        self.utf8.clear();
        self.utf8.shrink_to(KEEP_BYTES);
    }
}

/// Why a value has no string key.
pub enum StringKeyError {
    /// Not a string (or N-API failed to read it).
    NotAString,
    /// A string with a lone surrogate.
    IllFormed,
}

/// The JS string `value` as UTF-8, in `scratch`.
///
/// # Safety
/// `env` must be the env of the current call and `value` a value of it.
pub unsafe fn read_string(
    env: sys::napi_env,
    value: sys::napi_value,
    scratch: &mut Scratch,
) -> std::result::Result<&str, StringKeyError> {
    let mut len = 0usize;
    // SAFETY: the caller guarantees env and value; a null buffer asks for
    // the length (in UTF-16 units, without the terminator).
    let status =
        unsafe { sys::napi_get_value_string_utf16(env, value, ptr::null_mut(), 0, &mut len) };
    if status != sys::Status::napi_ok {
        return Err(StringKeyError::NotAString);
    }
    scratch.utf16.clear();
    scratch.utf16.resize(len + 1, 0);
    let mut copied = 0usize;
    // SAFETY: the buffer holds len + 1 units, as its size says; N-API
    // writes at most that many (the string, then a terminator).
    let status = unsafe {
        sys::napi_get_value_string_utf16(
            env,
            value,
            scratch.utf16.as_mut_ptr(),
            len + 1,
            &mut copied,
        )
    };
    if status != sys::Status::napi_ok || copied != len {
        return Err(StringKeyError::NotAString);
    }
    utf8_from_utf16(&scratch.utf16[..len], &mut scratch.utf8).ok_or(StringKeyError::IllFormed)
}

/// The key part of the JS string `value`.
///
/// # Safety
/// `env` must be the env of the current call and `value` a value of it.
pub unsafe fn read_string_key(
    env: sys::napi_env,
    value: sys::napi_value,
    scratch: &mut Scratch,
) -> std::result::Result<u64, StringKeyError> {
    // SAFETY: the caller's guarantees, passed on.
    unsafe { read_string(env, value, scratch) }.map(key_of::string_key)
}

/// `stringKey(s)`: the 64-bit key part a string key stands for.
#[napi(js_name = "stringKey")]
pub fn string_key(env: &Env, value: Unknown) -> Result<BigInt> {
    let mut scratch = Scratch::default();
    // SAFETY: env and value belong to this call.
    match unsafe { read_string_key(env.raw(), value.raw(), &mut scratch) } {
        Ok(key) => Ok(BigInt::from(key)),
        Err(StringKeyError::NotAString) => Err(Error::new(
            Status::InvalidArg,
            "ERR_INVALID_ARG_TYPE|key must be a string",
        )),
        Err(StringKeyError::IllFormed) => Err(Error::new(
            Status::InvalidArg,
            "ERR_INVALID_ARG_VALUE|key must be a well-formed string (it has a lone surrogate)",
        )),
    }
}
