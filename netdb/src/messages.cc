#include "hop/netdb/messages.h"

#include <cstring>

#include "hop/netdb/errors.h"
#include "hop/v1/netdb_messages.pb.h"

namespace hop::netdb {
namespace {

std::string as_string(core::ByteView b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

bool to_hash(const std::string& s, core::RouterHash& out) {
  if (s.size() != out.bytes.size()) return false;
  std::memcpy(out.bytes.data(), s.data(), s.size());
  return true;
}

core::Error malformed(const std::string& what) {
  return core::make_error(Errc::kRefused, "malformed NetDB message: " + what);
}

std::uint32_t to_wire(RecordKind kind) { return static_cast<std::uint32_t>(kind); }

bool to_kind(std::uint32_t wire, RecordKind& out) {
  if (wire > static_cast<std::uint32_t>(RecordKind::kLeaseSet)) return false;
  out = static_cast<RecordKind>(wire);
  return true;
}

}  // namespace

core::Bytes encode_netdb_message(const NetDbMessage& msg) {
  hop::v1::NetDbMessage pb;
  if (const auto* s = std::get_if<StoreMsg>(&msg)) {
    auto* m = pb.mutable_store();
    m->set_key(as_string(s->key.bytes));
    m->set_record(as_string(s->record));
    m->set_flood(s->flood);
    m->set_kind(to_wire(s->kind));
  } else if (const auto* l = std::get_if<LookupMsg>(&msg)) {
    auto* m = pb.mutable_lookup();
    m->set_key(as_string(l->key.bytes));
    m->set_lookup_id(l->lookup_id);
    m->set_exploratory(l->exploratory);
    m->set_kind(to_wire(l->kind));
    for (std::size_t i = 0; i < l->exclude.size() && i < kMaxExcluded; ++i) {
      m->add_exclude(as_string(l->exclude[i].bytes));
    }
  } else {
    const auto& r = std::get<SearchReplyMsg>(msg);
    auto* m = pb.mutable_search_reply();
    m->set_lookup_id(r.lookup_id);
    m->set_key(as_string(r.key.bytes));
    m->set_found(as_string(r.found));
    m->set_kind(to_wire(r.kind));
    for (std::size_t i = 0; i < r.closer.size() && i < kMaxCloserRecords; ++i) m->add_closer(as_string(r.closer[i]));
  }
  core::Bytes out(1 + pb.ByteSizeLong());
  out[0] = kNetDbService;
  pb.SerializeToArray(out.data() + 1, static_cast<int>(out.size() - 1));
  return out;
}

core::Result<NetDbMessage> decode_netdb_message(core::ByteView block) {
  if (block.empty() || block[0] != kNetDbService) return malformed("not for the NetDB service");
  if (block.size() > kMaxNetDbMessage) return malformed("too large");
  hop::v1::NetDbMessage pb;
  if (!pb.ParseFromArray(block.data() + 1, static_cast<int>(block.size() - 1))) return malformed("does not parse");
  switch (pb.body_case()) {
    case hop::v1::NetDbMessage::kStore: {
      StoreMsg s;
      if (!to_hash(pb.store().key(), s.key)) return malformed("store key size");
      s.record.assign(pb.store().record().begin(), pb.store().record().end());
      s.flood = pb.store().flood();
      if (!to_kind(pb.store().kind(), s.kind)) return malformed("unknown record kind");
      return NetDbMessage{std::move(s)};
    }
    case hop::v1::NetDbMessage::kLookup: {
      LookupMsg l;
      if (!to_hash(pb.lookup().key(), l.key)) return malformed("lookup key size");
      if (pb.lookup().exclude_size() > static_cast<int>(kMaxExcluded)) return malformed("too many excluded");
      l.lookup_id = pb.lookup().lookup_id();
      l.exploratory = pb.lookup().exploratory();
      if (!to_kind(pb.lookup().kind(), l.kind)) return malformed("unknown record kind");
      if (l.exploratory && l.kind != RecordKind::kRouterInfo) return malformed("exploratory LeaseSet lookup");
      for (const auto& e : pb.lookup().exclude()) {
        core::RouterHash h;
        if (!to_hash(e, h)) return malformed("excluded key size");
        l.exclude.push_back(h);
      }
      return NetDbMessage{std::move(l)};
    }
    case hop::v1::NetDbMessage::kSearchReply: {
      SearchReplyMsg r;
      const auto& pr = pb.search_reply();
      if (!to_hash(pr.key(), r.key)) return malformed("reply key size");
      if (pr.closer_size() > static_cast<int>(kMaxCloserRecords)) return malformed("too many records");
      r.lookup_id = pr.lookup_id();
      if (!to_kind(pr.kind(), r.kind)) return malformed("unknown record kind");
      r.found.assign(pr.found().begin(), pr.found().end());
      for (const auto& c : pr.closer()) r.closer.emplace_back(c.begin(), c.end());
      return NetDbMessage{std::move(r)};
    }
    case hop::v1::NetDbMessage::BODY_NOT_SET: break;
  }
  return malformed("empty");
}

}  // namespace hop::netdb
