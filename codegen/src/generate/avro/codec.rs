//! The Avro binary codec of the generated types: for each record an `AvroDatum` impl whose
//! `write_avro`/`read_avro` write and read its fields in schema order, for each enum its
//! symbol index, for each union enum its branch index and value. The code mirrors the type
//! decisions of [`Generator::ty`] node by node (`Option` for a union with a null branch,
//! `Box` where a record reaches itself, adapters for logical types), so every shape the
//! types can express is also written and read, at any depth, wire-exact with Apache Avro.
//!
//! Write code runs with `v: &T` and `out: &mut Vec<u8>` in scope and may use `?`; read code
//! is an expression of the type, with `input` in scope, and may use `?`.

use eventschema_core::avro::{NamedKind, Primitive, Schema};
use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::{Generator, is_null, logical_adapter};
use crate::generate::names::ident;

/// The code that writes and reads one schema node.
pub(super) struct Codec {
    pub write: TokenStream,
    pub read: TokenStream,
}

fn avro() -> TokenStream {
    quote! { ::eventschema::__private::avro }
}

fn index(at: usize) -> Literal {
    Literal::usize_unsuffixed(at)
}

impl Generator<'_> {
    /// The codec of `schema` at `pointer`; `direct` and `owner` as in [`Generator::ty`]
    /// (they decide boxing). Call after `ty` for the same node, which names its unions.
    pub(super) fn codec(
        &self,
        schema: &Schema,
        pointer: &str,
        direct: bool,
        owner: usize,
    ) -> Codec {
        let avro = avro();
        match schema {
            Schema::Primitive { kind, logical, .. } => {
                if let Some(adapted) = logical.and_then(logical_adapter) {
                    let adapter = adapted.adapter;
                    return Codec {
                        write: quote! { #avro::write_adapted::<#adapter>(out, v)?; },
                        read: quote! { #avro::read_adapted::<#adapter>(input)? },
                    };
                }
                primitive(*kind)
            }
            Schema::Array { items, .. } => {
                let Codec { write, read } =
                    self.codec(items, &format!("{pointer}/items"), false, owner);
                Codec {
                    write: quote! { #avro::write_array(out, v, |out, v| { #write Ok(()) })?; },
                    read: quote! { #avro::read_array(input, |input| Ok(#read))? },
                }
            }
            Schema::Map { values, .. } => {
                let Codec { write, read } =
                    self.codec(values, &format!("{pointer}/values"), false, owner);
                Codec {
                    write: quote! { #avro::write_map(out, v, |out, v| { #write Ok(()) })?; },
                    read: quote! { #avro::read_map(input, |input| Ok(#read))? },
                }
            }
            Schema::Named(named) => self.named_codec(schema, *named, direct, owner),
            Schema::Union(branches) => self.union_codec(branches, pointer, direct, owner),
        }
    }

    fn named_codec(&self, schema: &Schema, named: usize, direct: bool, owner: usize) -> Codec {
        let avro = avro();
        let Some(definition) = self.schema.named(named) else {
            // The model's indexes always resolve; should one not, the code fails at run
            // time with a message instead of the generator panicking.
            let message = format!("named type #{named} is missing from the schema");
            return Codec {
                write: quote! { return Err(::eventschema::CodecError(String::from(#message))); },
                read: quote! { return Err(::eventschema::CodecError(String::from(#message))) },
            };
        };
        if let NamedKind::Fixed { size } = definition.kind {
            let size = index(usize::try_from(size).unwrap_or(usize::MAX));
            return match self.adapter(schema) {
                Some(adapted) if !matches!(adapted.wire, super::Wire::Raw) => {
                    let adapter = adapted.adapter;
                    Codec {
                        write: quote! { #avro::write_adapted_fixed::<#adapter>(out, v, #size)?; },
                        read: quote! { #avro::read_adapted_fixed::<#adapter>(input, #size)? },
                    }
                }
                _ => Codec {
                    write: quote! { #avro::write_fixed(out, v, #size)?; },
                    read: quote! { #avro::read_fixed(input, #size)? },
                },
            };
        }
        let name = self.type_name(named);
        let boxed = direct && self.reaches(named, owner, &mut std::collections::BTreeSet::new());
        let read = quote! { <#name as #avro::AvroDatum>::read_avro(input)? };
        Codec {
            write: quote! { <#name as #avro::AvroDatum>::write_avro(v, out)?; },
            read: if boxed {
                quote! { Box::new(#read) }
            } else {
                read
            },
        }
    }

    fn union_codec(&self, branches: &[Schema], pointer: &str, direct: bool, owner: usize) -> Codec {
        let avro = avro();
        let count = index(branches.len());
        let null_at = branches.iter().position(is_null);
        let others: Vec<(usize, &Schema)> = branches
            .iter()
            .enumerate()
            .filter(|(_, b)| !is_null(b))
            .collect();
        if let (Some(null_at), [(at, only)]) = (null_at, others.as_slice()) {
            let Codec { write, read } = self.codec(only, &format!("{pointer}/{at}"), direct, owner);
            let (null_at, at) = (index(null_at), index(*at));
            return Codec {
                write: quote! {
                    match v {
                        None => #avro::write_branch(out, #null_at),
                        Some(v) => { #avro::write_branch(out, #at); #write }
                    }
                },
                read: quote! {
                    match #avro::read_branch(input, #count)? {
                        #null_at => None,
                        _ => Some(#read),
                    }
                },
            };
        }
        let name = ident(self.unions.get(pointer).map_or("Unknown", String::as_str));
        match null_at {
            Some(null_at) => {
                let null_at = index(null_at);
                Codec {
                    write: quote! {
                        match v {
                            None => #avro::write_branch(out, #null_at),
                            Some(v) => v.write_avro(out)?,
                        }
                    },
                    read: quote! {
                        match #avro::read_branch(input, #count)? {
                            #null_at => None,
                            branch => Some(#name::read_avro_branch(branch, input)?),
                        }
                    },
                }
            }
            None => Codec {
                write: quote! { v.write_avro(out)?; },
                read: quote! { #name::read_avro_branch(#avro::read_branch(input, #count)?, input)? },
            },
        }
    }

    /// The codec functions of a union enum: each variant writes its branch index (its
    /// position in the schema's union, null included) and its value.
    pub(super) fn union_enum_codec(
        &self,
        enum_name: &str,
        branches: &[Schema],
        pointer: &str,
        direct: bool,
        owner: usize,
    ) -> TokenStream {
        let avro = avro();
        let mut writes = Vec::new();
        let mut reads = Vec::new();
        for (at, branch) in branches.iter().enumerate().filter(|(_, b)| !is_null(b)) {
            let variant = ident(&self.variant_name(branch));
            let Codec { write, read } =
                self.codec(branch, &format!("{pointer}/{at}"), direct, owner);
            let at = index(at);
            writes.push(quote! {
                Self::#variant(v) => { #avro::write_branch(out, #at); #write }
            });
            reads.push(quote! { #at => Ok(Self::#variant(#read)), });
        }
        let enum_ident = ident(enum_name);
        let unknown = format!("branch {{branch}} of the union at `{pointer}` has no variant");
        // A union of only `null` is an enum without variants: nothing to write.
        let (write_body, out, input) = if writes.is_empty() {
            (
                quote! { match *self {} },
                quote! { _out },
                quote! { _input },
            )
        } else {
            (
                quote! { match self { #(#writes)* } Ok(()) },
                quote! { out },
                quote! { input },
            )
        };
        quote! {
            impl #enum_ident {
                fn write_avro(&self, #out: &mut Vec<u8>) -> Result<(), ::eventschema::CodecError> {
                    #write_body
                }
                fn read_avro_branch(branch: usize, #input: #avro::Input<'_, '_>) -> Result<Self, ::eventschema::CodecError> {
                    match branch {
                        #(#reads)*
                        _ => Err(::eventschema::CodecError(format!(#unknown))),
                    }
                }
            }
        }
    }

    /// `AvroDatum` for a record: its fields in schema order. `fields` pairs each field's
    /// Rust name with its codec.
    pub(super) fn record_codec(type_name: &str, fields: &[(String, Codec)]) -> TokenStream {
        let writes = fields.iter().map(|(name, codec)| {
            let field = ident(name);
            let write = &codec.write;
            quote! { { let v = &self.#field; #write } }
        });
        let reads = fields.iter().map(|(name, codec)| {
            let field = ident(name);
            let read = &codec.read;
            quote! { #field: #read }
        });
        // A record without fields reads and writes nothing.
        let (out, input) = if fields.is_empty() {
            (quote! { _out }, quote! { _input })
        } else {
            (quote! { out }, quote! { input })
        };
        datum_impl(
            type_name,
            (out, quote! { #(#writes)* Ok(()) }),
            (input, quote! { Ok(Self { #(#reads),* }) }),
        )
    }

    /// `AvroDatum` for an enum: the symbol's index.
    pub(super) fn enum_codec(type_name: &str, variants: &[String]) -> TokenStream {
        let avro = avro();
        let count = index(variants.len());
        let variants: Vec<_> = variants.iter().map(|v| ident(v)).collect();
        let positions: Vec<_> = (0..variants.len())
            .map(|at| Literal::i32_unsuffixed(i32::try_from(at).unwrap_or(i32::MAX)))
            .collect();
        let indexes: Vec<_> = (0..variants.len()).map(index).collect();
        let unknown = format!("symbol {{symbol}} of enum `{type_name}` has no variant");
        datum_impl(
            type_name,
            (
                quote! { out },
                quote! {
                    #avro::write_int(out, match self { #(Self::#variants => #positions),* });
                    Ok(())
                },
            ),
            (
                quote! { input },
                quote! {
                    Ok(match #avro::read_enum(input, #count)? {
                        #(#indexes => Self::#variants,)*
                        symbol => return Err(::eventschema::CodecError(format!(#unknown))),
                    })
                },
            ),
        )
    }
}

/// `impl AvroDatum for type_name`: each body with the name its parameter goes by (`out`,
/// `input`, or an underscored name where the body does not use it).
pub(super) fn datum_impl(
    type_name: &str,
    (out, write): (TokenStream, TokenStream),
    (input, read): (TokenStream, TokenStream),
) -> TokenStream {
    let avro = avro();
    let type_ident = ident(type_name);
    quote! {
        impl #avro::AvroDatum for #type_ident {
            fn write_avro(&self, #out: &mut Vec<u8>) -> Result<(), ::eventschema::CodecError> {
                #write
            }
            fn read_avro(#input: #avro::Input<'_, '_>) -> Result<Self, ::eventschema::CodecError> {
                #read
            }
        }
    }
}

fn primitive(kind: Primitive) -> Codec {
    let avro = avro();
    let (write, read) = match kind {
        // Null takes no bytes; the bindings are named so a newtype of null compiles
        // without unused-variable warnings.
        Primitive::Null => (
            quote! { let _ = (v, &out); },
            quote! { { let _ = &input; } },
        ),
        Primitive::Boolean => (
            quote! { #avro::write_boolean(out, *v); },
            quote! { #avro::read_boolean(input)? },
        ),
        Primitive::Int => (
            quote! { #avro::write_int(out, *v); },
            quote! { #avro::read_int(input)? },
        ),
        Primitive::Long => (
            quote! { #avro::write_long(out, *v); },
            quote! { #avro::read_long(input)? },
        ),
        Primitive::Float => (
            quote! { #avro::write_float(out, *v); },
            quote! { #avro::read_float(input)? },
        ),
        Primitive::Double => (
            quote! { #avro::write_double(out, *v); },
            quote! { #avro::read_double(input)? },
        ),
        Primitive::Bytes => (
            quote! { #avro::write_bytes(out, v); },
            quote! { #avro::read_bytes(input)? },
        ),
        Primitive::String => (
            quote! { #avro::write_string(out, v); },
            quote! { #avro::read_string(input)? },
        ),
    };
    Codec { write, read }
}
