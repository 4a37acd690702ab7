//! Domain enums served as GraphQL enums. The service layer spells each enum once (with strum:
//! its stored words, its variants, and a doc comment per variant); `domain_enum!` registers it
//! in the schema under a GraphQL name, each value described by its variant's doc comment, so
//! the words are never listed a second time here.

use std::str::FromStr;

use async_graphql::registry::{MetaEnumValue, MetaType, MetaTypeId, Registry};
use async_graphql::{InputValueError, InputValueResult, Value};
use strum::{EnumMessage, VariantArray};

/// The schema's entry for enum `T`: every variant by its stored word, described by its doc
/// comment.
pub fn register<T>(registry: &mut Registry, name: &'static str, description: &'static str) -> String
where
    T: async_graphql::InputType + VariantArray + EnumMessage + Copy + Into<&'static str>,
{
    registry.create_input_type::<T, _>(MetaTypeId::Enum, |_| MetaType::Enum {
        name: name.to_string(),
        description: Some(description.to_string()),
        enum_values: T::VARIANTS
            .iter()
            .map(|v| {
                let word: &'static str = (*v).into();
                (
                    word.to_string(),
                    MetaEnumValue {
                        name: word.to_string(),
                        description: v.get_documentation().map(|d| d.trim().to_string()),
                        deprecation: Default::default(),
                        visible: None,
                        inaccessible: false,
                        tags: vec![],
                        directive_invocations: vec![],
                    },
                )
            })
            .collect(),
        visible: None,
        inaccessible: false,
        tags: vec![],
        rust_typename: Some(std::any::type_name::<T>()),
        directive_invocations: vec![],
        requires_scopes: vec![],
    })
}

/// A stored word read back from the client: an enum value (or, from variables, a string).
pub fn parse<T: FromStr + async_graphql::InputType>(
    value: Option<Value>,
    name: &str,
) -> InputValueResult<T> {
    let word = match value {
        Some(Value::Enum(n)) => n.to_string(),
        Some(Value::String(s)) => s,
        other => {
            return Err(InputValueError::custom(format!(
                "expected a {name} value, found {}",
                other.unwrap_or_default()
            )));
        }
    };
    word.parse::<T>()
        .map_err(|_| InputValueError::custom(format!("{word} is not a {name} value")))
}

/// Implements `InputType` and `OutputType` for a domain enum of this crate.
macro_rules! domain_enum {
    ($ty:ty, $name:literal, $description:literal) => {
        impl async_graphql::InputType for $ty {
            type RawValueType = Self;

            fn type_name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($name)
            }

            fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
                $crate::graphql::enums::register::<$ty>(registry, $name, $description)
            }

            fn parse(value: Option<async_graphql::Value>) -> async_graphql::InputValueResult<Self> {
                $crate::graphql::enums::parse(value, $name)
            }

            fn to_value(&self) -> async_graphql::Value {
                let word: &'static str = (*self).into();
                async_graphql::Value::Enum(async_graphql::Name::new(word))
            }

            fn as_raw_value(&self) -> Option<&Self::RawValueType> {
                Some(self)
            }
        }

        impl async_graphql::OutputType for $ty {
            fn type_name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($name)
            }

            fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
                $crate::graphql::enums::register::<$ty>(registry, $name, $description)
            }

            async fn resolve(
                &self,
                _: &async_graphql::ContextSelectionSet<'_>,
                _: &async_graphql::Positioned<async_graphql::parser::types::Field>,
            ) -> async_graphql::ServerResult<async_graphql::Value> {
                let word: &'static str = (*self).into();
                Ok(async_graphql::Value::Enum(async_graphql::Name::new(word)))
            }
        }
    };
}

domain_enum!(
    crate::service::audit::Action,
    "AuditAction",
    "What an audit event records: the named change."
);
domain_enum!(
    crate::service::audit::SubjectType,
    "AuditSubjectType",
    "The kind of object an audit event is about. Events about a user's memberships and transfers name the user."
);
domain_enum!(
    crate::service::viewer::ActorType,
    "ActorType",
    "Who made a change: a person, a partner's API client, or the system."
);
domain_enum!(
    crate::service::viewer::ApiScope,
    "ApiScope",
    "What an API client may do. Anything outside its scopes is FORBIDDEN to it."
);
domain_enum!(
    crate::service::skill::RatingSource,
    "RatingSource",
    "Where a skill level came from: the user, a manager, an assessment, a course, or (unrated) a primary role."
);
