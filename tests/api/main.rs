//! The API test suite: one binary, one module per concept, every test on a fresh database
//! (SQLite, or PostgreSQL when `SKILLGRAPH_TEST_DATABASE_URL` is set).

mod audit;
mod auth;
mod cli;
mod demo;
mod engine;
mod engine_model;
mod groups;
mod helpers;
mod http;
mod live;
mod memberships;
mod readme;
mod roles;
mod schema_sdl;
mod users;
