// Plugin results (SPEC.md "Result": 0.3.x/0.4.0 ips carry "version", 1.0.0 dropped it) and
// the runtime side of a call: CNI_ARGS and the capability args sent in runtimeConfig.
#include <algorithm>

#include "cni/cni.h"
#include "cni/internal.h"

namespace berth::cni {

namespace {

Result<std::string> OptString(const Json& obj, const char* key, const std::string& field) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string())
    return InvalidArgument("parse CNI result", field + "." + key, "not a string");
  return it->get<std::string>();
}

Result<std::vector<std::string>> OptStrings(const Json& obj, const char* key,
                                            const std::string& field) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) return InvalidArgument("parse CNI result", field + "." + key, "not a list");
  for (auto& v : *it) {
    if (!v.is_string())
      return InvalidArgument("parse CNI result", field + "." + key, "holds a non-string");
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<const Json*> OptArray(const Json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return nullptr;
  if (!it->is_array()) return InvalidArgument("parse CNI result", key, "not a list");
  return &*it;
}

bool ValidArgPart(const std::string& s) {
  return !s.empty() && s.find(';') == std::string::npos && s.find('=') == std::string::npos;
}

}  // namespace

std::string IpConfig::Ip() const { return address.substr(0, address.find('/')); }

std::string NetResult::PrimaryIp() const {
  for (auto& ip : ips)
    if (ip.version == 4) return ip.Ip();
  return ips.empty() ? std::string() : ips.front().Ip();
}

std::vector<std::string> NetResult::AdditionalIps() const {
  std::vector<std::string> out;
  std::string primary = PrimaryIp();
  bool skipped = false;
  for (auto& ip : ips) {
    std::string s = ip.Ip();
    if (!skipped && s == primary) {
      skipped = true;
      continue;
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<NetResult> ResultFromJson(const Json& doc) {
  if (!doc.is_object()) return InvalidArgument("parse CNI result", "", "not a JSON object");
  NetResult r;
  r.cni_version = BERTH_TRY(OptString(doc, "cniVersion", "result"));
  if (auto* ifs = BERTH_TRY(OptArray(doc, "interfaces"))) {
    for (size_t i = 0; i < ifs->size(); i++) {
      const Json& j = (*ifs)[i];
      std::string f = "interfaces[" + std::to_string(i) + "]";
      if (!j.is_object()) return InvalidArgument("parse CNI result", f, "not an object");
      r.interfaces.push_back({BERTH_TRY(OptString(j, "name", f)), BERTH_TRY(OptString(j, "mac", f)),
                              BERTH_TRY(OptString(j, "sandbox", f))});
    }
  }
  if (auto* ips = BERTH_TRY(OptArray(doc, "ips"))) {
    for (size_t i = 0; i < ips->size(); i++) {
      const Json& j = (*ips)[i];
      std::string f = "ips[" + std::to_string(i) + "]";
      if (!j.is_object()) return InvalidArgument("parse CNI result", f, "not an object");
      IpConfig ip;
      ip.address = BERTH_TRY(OptString(j, "address", f));
      if (ip.address.find('/') == std::string::npos)
        return InvalidArgument("parse CNI result", f + ".address",
                               "\"" + ip.address + "\" is not an address in CIDR form");
      ip.gateway = BERTH_TRY(OptString(j, "gateway", f));
      std::string v = BERTH_TRY(OptString(j, "version", f));
      if (v == "4" || v == "6")
        ip.version = v == "4" ? 4 : 6;
      else if (v.empty())
        ip.version = ip.address.find(':') != std::string::npos ? 6 : 4;
      else
        return InvalidArgument("parse CNI result", f + ".version", "\"" + v + "\" is not 4 or 6");
      if (auto it = j.find("interface"); it != j.end() && !it->is_null()) {
        if (!it->is_number_integer() || it->get<int64_t>() < 0)
          return InvalidArgument("parse CNI result", f + ".interface", "not an index");
        ip.interface = static_cast<int>(it->get<int64_t>());
      }
      r.ips.push_back(std::move(ip));
    }
  }
  if (auto* routes = BERTH_TRY(OptArray(doc, "routes"))) {
    for (size_t i = 0; i < routes->size(); i++) {
      const Json& j = (*routes)[i];
      std::string f = "routes[" + std::to_string(i) + "]";
      if (!j.is_object()) return InvalidArgument("parse CNI result", f, "not an object");
      r.routes.push_back({BERTH_TRY(OptString(j, "dst", f)), BERTH_TRY(OptString(j, "gw", f))});
    }
  }
  if (auto it = doc.find("dns"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) return InvalidArgument("parse CNI result", "dns", "not an object");
    r.dns.nameservers = BERTH_TRY(OptStrings(*it, "nameservers", "dns"));
    r.dns.search = BERTH_TRY(OptStrings(*it, "search", "dns"));
    r.dns.options = BERTH_TRY(OptStrings(*it, "options", "dns"));
    r.dns.domain = BERTH_TRY(OptString(*it, "domain", "dns"));
  }
  r.raw = doc;
  return r;
}

Result<NetResult> ParseResult(std::string_view json) {
  Json doc;
  try {
    doc = Json::parse(json);
  } catch (const Json::exception& e) {
    return InvalidArgument("parse CNI result", "", e.what());
  }
  return ResultFromJson(doc);
}

void RuntimeConf::SetKubernetesArgs(const std::string& pod_namespace, const std::string& pod_name,
                                    const std::string& infra_container_id,
                                    const std::string& pod_uid) {
  // IgnoreUnknown: plugins that do not know the K8S_ keys must not fail on them.
  args = {{"IgnoreUnknown", "1"},
          {"K8S_POD_NAMESPACE", pod_namespace},
          {"K8S_POD_NAME", pod_name},
          {"K8S_POD_INFRA_CONTAINER_ID", infra_container_id},
          {"K8S_POD_UID", pod_uid}};
}

Result<std::string> BuildCniArgs(const RuntimeConf& rc) {
  std::string out;
  for (auto& [k, v] : rc.args) {
    if (!ValidArgPart(k) || !ValidArgPart(v))
      return InvalidArgument("CNI_ARGS", k + "=" + v,
                             "keys and values must be non-empty and hold no ';' or '='");
    if (!out.empty()) out += ';';
    out += k + "=" + v;
  }
  return out;
}

namespace internal {

Json CapabilityArgs(const RuntimeConf& rc) {
  Json caps = Json::object();
  if (!rc.port_mappings.empty()) {
    Json pms = Json::array();
    for (auto& pm : rc.port_mappings) {
      Json j = {{"hostPort", pm.host_port},
                {"containerPort", pm.container_port},
                {"protocol", pm.protocol.empty() ? "tcp" : pm.protocol}};
      if (!pm.host_ip.empty()) j["hostIP"] = pm.host_ip;
      pms.push_back(std::move(j));
    }
    caps["portMappings"] = std::move(pms);
  }
  if (rc.bandwidth) {
    auto& b = *rc.bandwidth;
    Json j = Json::object();
    if (b.ingress_rate) j["ingressRate"] = b.ingress_rate;
    if (b.ingress_burst) j["ingressBurst"] = b.ingress_burst;
    if (b.egress_rate) j["egressRate"] = b.egress_rate;
    if (b.egress_burst) j["egressBurst"] = b.egress_burst;
    caps["bandwidth"] = std::move(j);
  }
  if (!rc.ip_ranges.empty()) {
    // One range set holding every range, as containerd passes a pod CIDR.
    Json set = Json::array();
    for (auto& r : rc.ip_ranges) {
      Json j = {{"subnet", r.subnet}};
      if (!r.range_start.empty()) j["rangeStart"] = r.range_start;
      if (!r.range_end.empty()) j["rangeEnd"] = r.range_end;
      if (!r.gateway.empty()) j["gateway"] = r.gateway;
      set.push_back(std::move(j));
    }
    caps["ipRanges"] = Json::array({std::move(set)});
  }
  return caps;
}

Result<void> CapabilityArgsFromJson(const Json& caps, RuntimeConf& rc) {
  if (caps.is_null()) return {};
  try {
    if (auto it = caps.find("portMappings"); it != caps.end()) {
      for (auto& j : *it) {
        PortMapping pm;
        pm.host_port = j.at("hostPort").get<int>();
        pm.container_port = j.at("containerPort").get<int>();
        pm.protocol = j.value("protocol", "tcp");
        pm.host_ip = j.value("hostIP", "");
        rc.port_mappings.push_back(std::move(pm));
      }
    }
    if (auto it = caps.find("bandwidth"); it != caps.end()) {
      Bandwidth b;
      b.ingress_rate = it->value("ingressRate", uint64_t{0});
      b.ingress_burst = it->value("ingressBurst", uint64_t{0});
      b.egress_rate = it->value("egressRate", uint64_t{0});
      b.egress_burst = it->value("egressBurst", uint64_t{0});
      rc.bandwidth = b;
    }
    if (auto it = caps.find("ipRanges"); it != caps.end()) {
      for (auto& set : *it)
        for (auto& j : set)
          rc.ip_ranges.push_back({j.at("subnet").get<std::string>(), j.value("rangeStart", ""),
                                  j.value("rangeEnd", ""), j.value("gateway", "")});
    }
  } catch (const Json::exception& e) {
    return InvalidArgument("CNI cache", "capabilityArgs", e.what());
  }
  return {};
}

}  // namespace internal

Json BuildRuntimeConfig(const Json& plugin, const RuntimeConf& rc) {
  Json out = Json::object();
  auto caps = plugin.find("capabilities");
  if (caps == plugin.end() || !caps->is_object()) return out;
  Json have = internal::CapabilityArgs(rc);
  for (auto& [name, value] : have.items()) {
    auto c = caps->find(name);
    if (c != caps->end() && c->is_boolean() && c->get<bool>()) out[name] = value;
  }
  return out;
}

}  // namespace berth::cni
