//! The API test suite: one binary, one module per concept, every test on a fresh database
//! (SQLite, or PostgreSQL when `SKILLGRAPH_TEST_DATABASE_URL` is set).

mod api_clients;
mod audit;
mod auth;
mod career;
mod cli;
mod compliance;
mod csv_import;
mod demo;
mod engine;
mod engine_model;
mod exceptions;
mod fuzz;
mod groups;
mod hardening;
mod helpers;
mod http;
mod isolation;
mod live;
mod matches;
mod memberships;
mod null_propagation;
mod observe;
mod over_http;
mod permissions;
mod readme;
mod roles;
mod roles_catalog;
mod schema_sdl;
mod security;
mod skills;
mod tracks;
mod users;
