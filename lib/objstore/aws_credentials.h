// The S3 credential chain, in the order the AWS CLI and SDKs use: the
// environment, then the shared credentials and config files for the profile.
// (The instance metadata service is not consulted yet.)
#pragma once

#include <optional>
#include <string>

#include "environment.h"
#include "sigv4.h"

namespace ckptcat::objstore {

struct AwsSettings {
  std::optional<AwsCredentials> credentials;  // nullopt: anonymous (unsigned) requests
  std::string credentials_source;  // where they came from, for messages: "environment", a file, "anonymous"
  std::optional<std::string> region;        // the profile's region, if any
  std::optional<std::string> endpoint_url;  // the profile's endpoint_url, if any
};

// - no_sign_request (--no-sign-request): anonymous.
// - AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN).
// - the profile AWS_PROFILE (else AWS_DEFAULT_PROFILE, else "default") in
//   AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials), then in
//   AWS_CONFIG_FILE (default ~/.aws/config, sections "[profile NAME]").
// - otherwise anonymous.
// Throws ckptcat::Error (kInvalid) when a profile named by AWS_PROFILE exists
// in neither file, or has a key id without its secret, and the Error of
// storage::PosixFile naming the file when one that exists cannot be read (not
// a regular file, refused by the system). Messages never contain secret values.
AwsSettings load_aws_settings(const EnvLookup& env, bool no_sign_request);

}  // namespace ckptcat::objstore
