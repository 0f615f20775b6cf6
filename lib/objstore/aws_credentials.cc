#include "aws_credentials.h"

#include <filesystem>
#include <map>

#include "ckptcat/error.h"
#include "posix_file.h"

namespace ckptcat::objstore {
namespace {

using Section = std::map<std::string, std::string>;

// A credentials or config file is a few hundred bytes; anything near this is
// not one.
constexpr uint64_t kMaxSettingsFileBytes = uint64_t{1} << 20;

std::string trim(std::string_view text) {
  const size_t start = text.find_first_not_of(" \t\r");
  if (start == std::string_view::npos) return {};
  const size_t end = text.find_last_not_of(" \t\r");
  return std::string(text.substr(start, end - start + 1));
}

// The text of an AWS settings file, nullopt when it does not exist. Opened as
// every file ckptcat reads (storage::PosixFile): a FIFO or a folder named by
// AWS_SHARED_CREDENTIALS_FILE is refused with an Error naming it, never
// waited on or read as empty.
std::optional<std::string> read_settings_file(const std::filesystem::path& file) {
  std::optional<storage::PosixFile> opened;
  try {
    opened.emplace(file);
  } catch (const Error& error) {
    if (error.code() == Error::Code::kNotFound) return std::nullopt;
    throw;
  }
  if (opened->size() > kMaxSettingsFileBytes)
    throw Error(Error::Code::kInvalid,
                "file is " + std::to_string(opened->size()) + " bytes, over the " +
                    std::to_string(kMaxSettingsFileBytes) + "-byte limit for AWS settings files",
                file.string());
  std::string text(opened->size(), '\0');
  opened->read_next(text.data(), text.size());
  return text;
}

// The key = value pairs of one [section] of an AWS INI file; nullopt when the
// file or the section is absent. Indented lines continue a nested setting
// ("s3 =\n  addressing_style = path") and are skipped.
std::optional<Section> read_ini_section(const std::filesystem::path& file,
                                        const std::string& wanted) {
  const std::optional<std::string> contents = read_settings_file(file);
  if (!contents) return std::nullopt;
  std::optional<Section> section;
  bool inside = false;
  for (size_t start = 0; start < contents->size();) {
    size_t end = contents->find('\n', start);
    if (end == std::string::npos) end = contents->size();
    const std::string_view line = std::string_view(*contents).substr(start, end - start);
    start = end + 1;
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
