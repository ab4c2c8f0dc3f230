// Reading integer arguments from JavaScript: a value is accepted only if it is
// a Number holding exactly an integer in range (no NaN, fractions or coercion).
#pragma once
#include <napi.h>

#include <cstdint>

namespace sr {

inline bool GetUint32(const Napi::Value& v, uint32_t* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint32_t>(d))) return false;
  *out = static_cast<uint32_t>(d);
  return true;
}

inline bool GetInt32(const Napi::Value& v, int32_t min, int32_t max, int32_t* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != static_cast<double>(static_cast<int32_t>(d))) return false;
  *out = static_cast<int32_t>(d);
  return true;
}

}  // namespace sr
