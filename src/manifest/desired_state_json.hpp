#pragma once
// DesiredState to and from JSON (nlohmann), and its wire form between a render child and fjordd
// (sandbox/sandbox.hpp): CBOR, so blob content (rendered templates) travels as bytes, and any byte
// of a file name survives. Decoding is strict (every key present, types exact, bounded nesting):
// the bytes come from a child that parsed untrusted input.
#include "manifest/desired_state.hpp"
#include "util/result.hpp"
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace fjord {

void to_json(nlohmann::json &j, const FileSpec &f);
void from_json(const nlohmann::json &j, FileSpec &f);
void to_json(nlohmann::json &j, const UnitSpec &u);
void from_json(const nlohmann::json &j, UnitSpec &u);
void to_json(nlohmann::json &j, const HookSpec &h);
void from_json(const nlohmann::json &j, HookSpec &h);
void to_json(nlohmann::json &j, const CheckSpec &c);
void from_json(const nlohmann::json &j, CheckSpec &c);
void to_json(nlohmann::json &j, const PortSpec &p);
void from_json(const nlohmann::json &j, PortSpec &p);
void to_json(nlohmann::json &j, const VolumeSpec &v);
void from_json(const nlohmann::json &j, VolumeSpec &v);
void to_json(nlohmann::json &j, const ContainerHealthSpec &h);
void from_json(const nlohmann::json &j, ContainerHealthSpec &h);
void to_json(nlohmann::json &j, const VarValue &v);
void from_json(const nlohmann::json &j, VarValue &v);
void to_json(nlohmann::json &j, const ContainerSpec &c);
void from_json(const nlohmann::json &j, ContainerSpec &c);
void to_json(nlohmann::json &j, const DesiredState &d);
void from_json(const nlohmann::json &j, DesiredState &d);

/// The wire form of `d` (CBOR).
[[nodiscard]] std::string encode_desired(const DesiredState &d);
/// Parses the wire form; Errc::invalid naming what is wrong. Checks shape only: the caller
/// validates content (manifest/validate.hpp).
[[nodiscard]] Result<DesiredState> decode_desired(std::string_view bytes);

} // namespace fjord
