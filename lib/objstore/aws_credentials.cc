#include "aws_credentials.h"

#include <filesystem>
#include <fstream>
#include <map>

#include "ckptcat/error.h"

namespace ckptcat::objstore {
namespace {

using Section = std::map<std::string, std::string>;

std::string trim(std::string_view text) {
  const size_t start = text.find_first_not_of(" \t\r");
  if (start == std::string_view::npos) return {};
  const size_t end = text.find_last_not_of(" \t\r");
  return std::string(text.substr(start, end - start + 1));
}

// The key = value pairs of one [section] of an AWS INI file; nullopt when the
// file or the section is absent. Indented lines continue a nested setting
// ("s3 =\n  addressing_style = path") and are skipped.
std::optional<Section> read_ini_section(const std::filesystem::path& file,
                                        const std::string& wanted) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::optional<Section> section;
  bool inside = false;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == ' ' || line[0] == '\t') continue;
    const std::string text = trim(line);
    if (text.empty() || text[0] == '#' || text[0] == ';') continue;
    if (text.front() == '[') {
      const size_t close = text.find(']');
      inside = close != std::string::npos && trim(text.substr(1, close - 1)) == wanted;
      if (inside && !section) section.emplace();
      continue;
    }
    if (!inside) continue;
    const size_t equals = text.find('=');
    if (equals == std::string::npos) continue;
    (*section)[trim(text.substr(0, equals))] = trim(text.substr(equals + 1));
  }
  return section;
}

std::optional<std::string> value_of(const std::optional<Section>& section, const std::string& key) {
  if (!section) return std::nullopt;
  auto found = section->find(key);
  if (found == section->end() || found->second.empty()) return std::nullopt;
  return found->second;
}

std::filesystem::path aws_file(const EnvLookup& env, const std::string& variable,
                               const std::string& default_name) {
  if (auto path = env(variable)) return *path;
  if (auto home = env("HOME")) return std::filesystem::path(*home) / ".aws" / default_name;
  return {};
}

// Credentials from a profile section: a key id needs its secret.
std::optional<AwsCredentials> section_credentials(const std::optional<Section>& section,
                                                  const std::string& source) {
  auto key_id = value_of(section, "aws_access_key_id");
  auto secret = value_of(section, "aws_secret_access_key");
  if (!key_id && !secret) return std::nullopt;
  if (!key_id || !secret)
    throw Error(Error::Code::kInvalid,
                "the profile has " + std::string(key_id ? "aws_access_key_id" : "aws_secret_access_key") +
                    " without " + (key_id ? "aws_secret_access_key" : "aws_access_key_id"),
                source);
  return AwsCredentials{*key_id, *secret, value_of(section, "aws_session_token").value_or("")};
}

}  // namespace

AwsSettings load_aws_settings(const EnvLookup& env, bool no_sign_request) {
  AwsSettings settings;
  const auto explicit_profile = env("AWS_PROFILE") ? env("AWS_PROFILE") : env("AWS_DEFAULT_PROFILE");
  const std::string profile = explicit_profile.value_or("default");

  const std::filesystem::path credentials_file =
      aws_file(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
  const std::filesystem::path config_file = aws_file(env, "AWS_CONFIG_FILE", "config");
  const auto credentials_section = credentials_file.empty()
                                       ? std::nullopt
                                       : read_ini_section(credentials_file, profile);
  const auto config_section =
      config_file.empty()
          ? std::nullopt
          : read_ini_section(config_file, profile == "default" ? profile : "profile " + profile);
  if (explicit_profile && !credentials_section && !config_section)
    throw Error(Error::Code::kInvalid,
                "the AWS profile \"" + profile + "\" is in neither " + credentials_file.string() +
                    " nor " + config_file.string());
  settings.region = value_of(config_section, "region");
  settings.endpoint_url = value_of(config_section, "endpoint_url");

  if (no_sign_request) {
    settings.credentials_source = "anonymous (--no-sign-request)";
    return settings;
  }
  auto key_id = env("AWS_ACCESS_KEY_ID");
  auto secret = env("AWS_SECRET_ACCESS_KEY");
  if (key_id && secret) {
    settings.credentials = AwsCredentials{*key_id, *secret, env("AWS_SESSION_TOKEN").value_or("")};
    settings.credentials_source = "environment";
    return settings;
  }
  if (auto found = section_credentials(credentials_section, credentials_file.string())) {
    settings.credentials = std::move(found);
    settings.credentials_source = credentials_file.string() + " [" + profile + "]";
    return settings;
  }
  if (auto found = section_credentials(config_section, config_file.string())) {
    settings.credentials = std::move(found);
    settings.credentials_source = config_file.string() + " [profile " + profile + "]";
    return settings;
  }
  settings.credentials_source = "anonymous (no credentials found)";
  return settings;
}

}  // namespace ckptcat::objstore
