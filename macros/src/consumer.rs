//! `#[consumer(group = "...")]` on an impl block: every `async fn(&self, event: E[, ctx:
//! Context])` in it becomes a handler for `E`, and the block implements
//! `eventschema::Consumer`, so `bus.register(consumer)` subscribes all of them at once.
//! Methods marked `#[handler(skip)]`, and methods that are not `async fn(&self, ..)`, are
//! left alone.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ImplItem, ImplItemFn, ItemImpl, LitStr, Pat, Type};

/// Arguments of the attribute.
#[derive(Debug)]
pub struct ConsumerArgs {
    pub group: Option<LitStr>,
}

impl ConsumerArgs {
    pub fn parse(args: TokenStream) -> syn::Result<Self> {
        let mut group = None;
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("group") {
                if group.is_some() {
                    return Err(meta.error("duplicate `group`"));
                }
                let expr: syn::Expr = meta.value()?.parse()?;
                match expr {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(lit),
                        ..
                    }) if !lit.value().is_empty() => {
                        group = Some(lit);
                        Ok(())
                    }
                    other => Err(syn::Error::new(
                        other.span(),
                        "`group` expects a non-empty string literal, e.g. group = \"billing\"",
                    )),
                }
            } else {
                Err(meta.error("unknown `consumer` attribute; expected `group = \"...\"`"))
            }
        });
        syn::parse::Parser::parse2(parser, args)?;
        Ok(ConsumerArgs { group })
    }
}

/// What a handler method takes besides the event.
enum Extra {
    None,
    Context,
    /// An inbox handler: `(event, [ctx,] conn: &mut PgConnection)`.
    Tx {
        ctx: bool,
        conn: Box<Type>,
    },
}

struct Handler {
    method: syn::Ident,
    event: Type,
    extra: Extra,
    output: Option<Type>,
    output_span: proc_macro2::Span,
}

/// Whether the method carries `#[handler(skip)]`; removes our `handler` attributes.
fn take_handler_attr(method: &mut ImplItemFn) -> syn::Result<bool> {
    let mut skip = false;
    let mut error = None;
    method.attrs.retain(|attr| {
        if !attr.path().is_ident("handler") {
            return true;
        }
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                skip = true;
                Ok(())
            } else {
                Err(meta.error("unknown `handler` attribute; expected #[handler(skip)]"))
            }
        });
        if let Err(e) = parsed {
            error = Some(e);
        }
        false
    });
    error.map_or(Ok(skip), Err)
}

/// `&mut PgConnection` (any path to it): the inbox transaction.
fn is_connection(ty: &Type) -> bool {
    matches!(ty, Type::Reference(r) if r.mutability.is_some()
        && matches!(&*r.elem, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "PgConnection")))
}

fn is_context(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Context"))
}

fn handler(method: &ImplItemFn) -> syn::Result<Option<Handler>> {
    let sig = &method.sig;
    let Some(FnArg::Receiver(receiver)) = sig.inputs.first() else {
        return Ok(None);
    };
    if sig.asyncness.is_none() {
        return Ok(None);
    }
    if !matches!(receiver.kind, syn::ReceiverKind::Reference(_, _, None)) {
        return Err(syn::Error::new(
            receiver.span(),
            format!(
                "handler `{}` must take `&self`: a consumer is shared by all of its workers",
                sig.ident
            ),
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            format!(
                "handler `{}` cannot be generic: its event type picks the subscription",
                sig.ident
            ),
        ));
    }
    let typed: Vec<&syn::PatType> = sig
        .inputs
        .iter()
        .filter_map(|a| match a {
            FnArg::Typed(t) => Some(t),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let Some(event) = typed.first() else {
        return Err(syn::Error::new(
            sig.span(),
            format!(
                "handler `{}` takes no event: write `async fn {}(&self, event: MyEvent, ctx: Context)` (the context is optional), or mark it #[handler(skip)]",
                sig.ident, sig.ident
            ),
        ));
    };
    if let Type::Reference(reference) = &*event.ty {
        return Err(syn::Error::new(
            reference.span(),
            format!(
                "handler `{}` must take the event by value (`{}`), not by reference",
                sig.ident,
                quote::ToTokens::to_token_stream(&reference.elem)
            ),
        ));
    }
    if is_context(&event.ty) {
        return Err(syn::Error::new(
            event.ty.span(),
            format!(
                "handler `{}`: the event comes first, then the `Context`",
                sig.ident
            ),
        ));
    }
    let extra = match (typed.get(1), typed.get(2)) {
        (None, _) => Extra::None,
        (Some(ctx), None) if is_context(&ctx.ty) => Extra::Context,
        (Some(conn), None) if is_connection(&conn.ty) => Extra::Tx {
            ctx: false,
            conn: conn.ty.clone(),
        },
        (Some(ctx), Some(conn)) if is_context(&ctx.ty) && is_connection(&conn.ty) => Extra::Tx {
            ctx: true,
            conn: conn.ty.clone(),
        },
        (Some(ctx), Some(extra)) if is_context(&ctx.ty) => {
            return Err(syn::Error::new(
                extra.ty.span(),
                format!(
                    "handler `{}`: after the `Context` only the inbox transaction may follow (`tx: &mut PgConnection`), found `{}`",
                    sig.ident,
                    quote::ToTokens::to_token_stream(&extra.ty)
                ),
            ));
        }
        (Some(other), _) => {
            return Err(syn::Error::new(
                other.ty.span(),
                format!(
                    "handler `{}`: the second argument must be `eventschema::Context` (or `&mut PgConnection` for an inbox handler), found `{}`",
                    sig.ident,
                    quote::ToTokens::to_token_stream(&other.ty)
                ),
            ));
        }
    };
    if let Some(extra) = typed.get(3) {
        return Err(syn::Error::new(
            extra.span(),
            format!(
                "handler `{}` takes too many arguments: a handler is `(&self, event, ctx: Context)`, or `(&self, event, ctx: Context, tx: &mut PgConnection)` in the inbox",
                sig.ident
            ),
        ));
    }
    for arg in &typed {
        if !matches!(&*arg.pat, Pat::Ident(_) | Pat::Wild(_)) {
            return Err(syn::Error::new(
                arg.pat.span(),
                "handler arguments must be plain names",
            ));
        }
    }
    let (output, output_span) = match &sig.output {
        syn::ReturnType::Default => (None, sig.ident.span()),
        syn::ReturnType::Type(_, ty) => (Some((**ty).clone()), ty.span()),
    };
    Ok(Some(Handler {
        method: sig.ident.clone(),
        event: (*event.ty).clone(),
        extra,
        output,
        output_span,
    }))
}

pub fn expand(args: ConsumerArgs, mut item: ItemImpl) -> syn::Result<TokenStream> {
    let Some(group) = args.group else {
        return Err(syn::Error::new(
            item.impl_token.span(),
            "missing consumer group: #[consumer(group = \"billing\")]",
        ));
    };
    if let Some((path, _)) = &item.trait_ {
        return Err(syn::Error::new(
            path.span(),
            "#[consumer] goes on an inherent impl block (`impl MyConsumer { .. }`), not a trait impl",
        ));
    }
    if !item.generics.params.is_empty() {
        return Err(syn::Error::new(
            item.generics.span(),
            "a consumer cannot be generic",
        ));
    }
    let mut handlers = Vec::new();
    let mut errors: Option<syn::Error> = None;
    for entry in &mut item.items {
        let ImplItem::Fn(method) = entry else {
            continue;
        };
        let skip = match take_handler_attr(method) {
            Ok(skip) => skip,
            Err(e) => {
                errors.get_or_insert_with(|| e.clone()).combine(e);
                continue;
            }
        };
        if skip {
            continue;
        }
        match handler(method) {
            Ok(Some(h)) => handlers.push(h),
            Ok(None) => {}
            Err(e) => match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            },
        }
    }
    if let Some(errors) = errors {
        return Err(errors);
    }
    if handlers.is_empty() {
        return Err(syn::Error::new(
            item.self_ty.span(),
            "this consumer has no handlers: add `async fn on_event(&self, event: MyEvent, ctx: Context) -> Result<(), HandlerError>`",
        ));
    }
    let self_ty = &item.self_ty;
    let registrations = handlers.iter().map(|h| {
        let method = &h.method;
        let event = &h.event;
        // Spanned so that a non-Event type or a wrong return type is reported at the
        // handler's own tokens.
        let event_check = quote_spanned! {event.span()=>
            let _ = ::eventschema::__derive::assert_event::<#event>;
        };
        let output = match &h.output {
            Some(ty) => quote! { #ty },
            None => quote! { () },
        };
        let into = |call: TokenStream| {
            quote_spanned! {h.output_span=>
                <#output as ::eventschema::__derive::HandlerOutput>::into_result(#call)
            }
        };
        if let Extra::Tx { ctx, conn } = &h.extra {
            let call = if *ctx {
                into(quote! { this.#method(event, ctx, conn).await })
            } else {
                into(quote! { this.#method(event, conn).await })
            };
            let ctx_pat = if *ctx { format_ident!("ctx") } else { format_ident!("_ctx") };
            let conn = match &**conn {
                Type::Reference(r) => &*r.elem,
                other => other,
            };
            return quote! {
                #event_check
                let handlers = handlers.on_tx::<#self_ty, #event>(::std::sync::Arc::clone(&self), {
                    fn call<'c>(
                        this: &'c #self_ty,
                        event: #event,
                        #ctx_pat: ::eventschema::Context,
                        conn: &'c mut #conn,
                    ) -> ::eventschema::BoxFuture<'c, ::core::result::Result<(), ::eventschema::HandlerError>> {
                        ::std::boxed::Box::pin(async move { #call })
                    }
                    call
                })?;
            };
        }
        let call = match h.extra {
            Extra::Context => into(quote! { this.#method(event, ctx).await }),
            _ => into(quote! { this.#method(event).await }),
        };
        let ctx_pat = match h.extra {
            Extra::Context => format_ident!("ctx"),
            _ => format_ident!("_ctx"),
        };
        quote! {
            #event_check
            let handlers = handlers.on::<#event, _, _>({
                let this = ::std::sync::Arc::clone(&self);
                move |event: #event, #ctx_pat: ::eventschema::Context| {
                    let this = ::std::sync::Arc::clone(&this);
                    async move { #call }
                }
            })?;
        }
    });
    Ok(quote! {
        #item
        impl ::eventschema::Consumer for #self_ty {
            const GROUP: &'static str = #group;
            fn handlers(
                self: ::std::sync::Arc<Self>,
                handlers: ::eventschema::consumer::Handlers,
            ) -> ::core::result::Result<::eventschema::consumer::Handlers, ::eventschema::SubscribeError> {
                #(#registrations)*
                ::core::result::Result::Ok(handlers)
            }
        }
    })
}
