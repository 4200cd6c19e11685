// Loads the cacophony Noise test vectors from ../shared/vectors.
#pragma once

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <optional>
#include <string>
#include <vector>

namespace hop::test {

struct NoiseVector {
  std::string protocol_name;
  std::string init_prologue, init_static, init_ephemeral, init_remote_static;
  std::string resp_prologue, resp_static, resp_ephemeral;
  std::string handshake_hash;
  std::vector<std::pair<std::string, std::string>> messages;  // payload, ciphertext (hex)
};

inline std::vector<NoiseVector> load_noise_vectors() {
  boost::property_tree::ptree root;
  boost::property_tree::read_json(HOP_SHARED_DIR "/vectors/noise-25519-chachapoly-blake2b.json",
                                  root);
  std::vector<NoiseVector> out;
  for (const auto& [_, v] : root.get_child("vectors")) {
    NoiseVector nv;
    nv.protocol_name = v.get<std::string>("protocol_name");
    nv.init_prologue = v.get<std::string>("init_prologue", "");
    nv.init_static = v.get<std::string>("init_static", "");
    nv.init_ephemeral = v.get<std::string>("init_ephemeral", "");
    nv.init_remote_static = v.get<std::string>("init_remote_static", "");
    nv.resp_prologue = v.get<std::string>("resp_prologue", "");
    nv.resp_static = v.get<std::string>("resp_static", "");
    nv.resp_ephemeral = v.get<std::string>("resp_ephemeral", "");
    nv.handshake_hash = v.get<std::string>("handshake_hash", "");
    for (const auto& [__, m] : v.get_child("messages")) {
      nv.messages.emplace_back(m.get<std::string>("payload"), m.get<std::string>("ciphertext"));
    }
    out.push_back(std::move(nv));
  }
  return out;
}

}  // namespace hop::test
