#pragma once
// JsonWriter: appends a JSON document to a string as it is described, for hot replies
// (GetParameters, FilterLogEvents) and hot store documents (SSM versions) where building an nlohmann::json tree first cost more than
// the operation itself (a map node and a string copy per field, then a second pass to dump).
//
//   JsonWriter w;
//   w.BeginObject().Key("Version").Int(3).Key("Tier").String("Standard").EndObject();
//   std::string body = w.Take();   // {"Version":3,"Tier":"Standard"}
//
// Strings are escaped as nlohmann's dump() does (", \, control characters) and invalid UTF-8 is
// replaced by U+FFFD, as the API's nlohmann replies do with error_handler_t::replace. Doubles
// are written in their shortest round-trip form. Misuse (a value where a key is due, a key in an
// array, unbalanced or crossed Begin/End) is a programming error, checked by BERTH_ASSERT.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace berth::core {

// Appends `text` as a JSON string literal (quotes included).
void AppendJsonString(std::string& out, std::string_view text);

class JsonWriter {
 public:
  // Room for a typical hot reply up front: growing from empty reallocated it ~8 times.
  JsonWriter() { out_.reserve(1024); }

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // A value that is already JSON text (e.g. a cached rendering), written as is.
  JsonWriter& RawValue(std::string_view json);

  // The document; REQUIRES: every Begin has its End.
  std::string Take();

 private:
  void BeforeValue();
  void Separate();
  template <typename T>
  JsonWriter& Number(T value);  // Int and Double  // the comma before a container's second and later members
  JsonWriter& Open(char bracket);
  JsonWriter& Close(char bracket, const char* misuse);

  std::string out_;
  // One entry per open container: the bracket that closes it, and whether nothing has been
  // written in it yet.
  struct OpenContainer {
    char close;
    bool empty;
  };
  std::vector<OpenContainer> open_;
  bool key_pending_ = false;
};

}  // namespace berth::core
