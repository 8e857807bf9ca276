#include <string>

#include "cgroups/devices.h"

namespace berth::cgroups {

Result<std::vector<DeviceRule>> ParseDeviceRules(const std::vector<spec::LinuxDeviceCgroup>& in) {
  std::vector<DeviceRule> out;
  for (size_t i = 0; i < in.size(); ++i) {
    const auto& d = in[i];
    std::string field = "linux.resources.devices[" + std::to_string(i) + "]";
    DeviceRule r;
    r.allow = d.allow;
    if (d.type.empty() || d.type == "a") {
      r.type = 'a';
    } else if (d.type == "c" || d.type == "b") {
      r.type = d.type[0];
    } else {
      return InvalidArgument(field + ".type", "\"" + d.type + "\"", "must be \"a\", \"c\" or \"b\"");
    }
    r.major = d.major && *d.major >= 0 ? *d.major : -1;
    r.minor = d.minor && *d.minor >= 0 ? *d.minor : -1;
    if (r.major > 0xffffffffLL || r.minor > 0xffffffffLL)
      return InvalidArgument(field, "major/minor", "out of range");
    if (!d.access.empty()) {
      r.access = 0;
      for (char c : d.access) {
        switch (c) {
          case 'r':
            r.access |= kAccRead;
            break;
          case 'w':
            r.access |= kAccWrite;
            break;
          case 'm':
            r.access |= kAccMknod;
            break;
          default:
            return InvalidArgument(field + ".access", "\"" + d.access + "\"",
                        "may only contain the letters r, w and m");
        }
      }
    }
    out.push_back(r);
  }
  return out;
}

std::string V1DeviceRule(const DeviceRule& r) {
  std::string s(1, r.type);
  s += ' ';
  s += r.major < 0 ? "*" : std::to_string(r.major);
  s += ':';
  s += r.minor < 0 ? "*" : std::to_string(r.minor);
  s += ' ';
  if (r.access & kAccRead) s += 'r';
  if (r.access & kAccWrite) s += 'w';
  if (r.access & kAccMknod) s += 'm';
  return s;
}

}  // namespace berth::cgroups
