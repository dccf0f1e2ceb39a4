//! Schema loading: every route's schema read once (a local file, bytes in
//! the binary or an S3 object) and its message type compiled into a
//! converter.

use std::collections::HashMap;
use std::sync::Arc;

use object_store::ObjectStoreExt;
use protoland_pipeline_core::{ConfigError, Location, SchemaSource, Settings, vars};
use protoland_schema::Schema;
use protoland_stream::{ConvertOptions, Converter, OutputFormat};
use protoland_transcode::Plan;

use super::error::invalid;
use crate::storage::{Stores, object_path};

/// A compiled route: the converter for one message type.
#[derive(Debug)]
pub(super) struct Route {
    pub(super) message: String,
    pub(super) converter: Converter,
}

/// The compiled routes: the default (`PROTOLAND_SCHEMA` and
/// `PROTOLAND_MESSAGE`, when both are set) and one per `PROTOLAND_ROUTES`
/// entry, in order. Each schema is loaded once however many routes use it.
pub(super) async fn compile_routes(
    settings: &Settings,
    stores: &Stores,
    threads: std::num::NonZeroUsize,
) -> Result<(Option<Arc<Route>>, Vec<Arc<Route>>), ConfigError> {
    let mut schemas: HashMap<String, Schema> = HashMap::new();
    let options = ConvertOptions {
        compression: settings.compression,
        framing: settings.framing,
        limits: settings.limits,
        ..ConvertOptions::default()
    };
    // `vars`: the variables to blame for a schema that does not load and
    // for a message type it does not have.
    let mut compile = async |source: &SchemaSource,
                             message: &str,
                             format: OutputFormat,
                             vars: (&'static str, &'static str)| {
        let (schema_var, message_var) = vars;
        let key = source.to_string();
        if !schemas.contains_key(&key) {
            let schema = load_schema(source, &settings.includes, stores)
                .await
                .map_err(|message| invalid(schema_var, message))?;
            schemas.insert(key.clone(), schema);
        }
        let schema = &schemas[&key];
        let descriptor = schema
            .message(message)
            .map_err(|e| invalid(message_var, format!("{e} (schema {source})")))?;
        let plan = Plan::new(&descriptor, settings.json);
        let mut converter = Converter::new(plan, options).with_threads(threads);
        if format == OutputFormat::Parquet {
            converter = converter
                .with_parquet(settings.parquet)
                .map_err(|e| invalid(message_var, format!("{e} (Parquet output of {message})")))?;
        }
        Ok::<_, ConfigError>(Arc::new(Route {
            message: message.to_owned(),
            converter,
        }))
    };

    let default_route = match (&settings.message, &settings.schema) {
        (Some(message), Some(schema)) => {
            let format = settings.format_of(None);
            Some(compile(schema, message, format, (vars::SCHEMA, vars::MESSAGE)).await?)
        }
        _ => None,
    };
    let mut routes = Vec::with_capacity(settings.routes.len());
    for (i, route) in settings.routes.iter().enumerate() {
        let schema = match &route.schema {
            Some(s) => SchemaSource::parse(s),
            None => settings.schema.clone().ok_or(ConfigError::Missing {
                var: vars::SCHEMA,
                hint: "a route names no schema of its own",
            })?,
        };
        let format = settings.format_of(Some(i));
        routes.push(
            compile(
                &schema,
                &route.message,
                format,
                (vars::ROUTES, vars::ROUTES),
            )
            .await?,
        );
    }
    Ok((default_route, routes))
}

/// Reads and compiles one schema.
async fn load_schema(
    source: &SchemaSource,
    includes: &[std::path::PathBuf],
    stores: &Stores,
) -> Result<Schema, String> {
    match source {
        SchemaSource::Path(path) => {
            if !path.exists() {
                return Err(format!("schema file {} does not exist", path.display()));
            }
            Schema::load([path], includes).map_err(|e| e.to_string())
        }
        SchemaSource::Bytes { name, bytes } => {
            Schema::from_bytes(name, bytes).map_err(|e| e.to_string())
        }
        SchemaSource::S3(url) => {
            let Ok(Location::S3 {
                bucket,
                prefix: key,
            }) = Location::parse(url)
            else {
                return Err(format!("`{url}` is not an s3://bucket/key URL"));
            };
            let store = stores.bucket(&bucket).map_err(|e| e.to_string())?;
            let path = object_path(&key).map_err(|e| e.to_string())?;
            let got = store
                .get(&path)
                .await
                .map_err(|e| format!("reading schema {url}: {e}"))?;
            let bytes = got
                .bytes()
                .await
                .map_err(|e| format!("reading schema {url}: {e}"))?;
            let name = key.rsplit('/').next().unwrap_or(&key);
            Schema::from_bytes(name, &bytes).map_err(|e| e.to_string())
        }
    }
}
