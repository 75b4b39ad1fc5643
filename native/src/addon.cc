// bias-transfer native addon: a thin Node-API layer over libtorch's ATen.
//
// Design (see README "Engine"):
// - One JS class, NativeTensor, owns one at::Tensor. `dispose()` releases it at once; the
//   finalizer is only a backstop. Native memory held by live tensors is reported to V8.
// - Every other export is a plain function taking NativeTensor handles and primitive arguments.
//   The TypeScript layer (src/torch) validates arguments, builds them from option objects and
//   owns every policy (scopes, modules, optimizers). No business logic lives here.
// - Every libtorch error (c10::Error) and std::exception becomes a JS Error carrying
//   libtorch's message; no input from JS can abort the process.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <ATen/core/Reduction.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/InferenceMode.h>
#include <c10/core/impl/alloc_cpu.h>
#include <napi.h>
#include <torch/version.h>
#include "fused.h"
#include <malloc.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

std::atomic<int64_t> g_live{0};

// Native bytes held by live tensors are reported to V8 (so its GC knows what JS wrappers keep
// alive), but in steps: each napi_adjust_external_memory call with megabytes moves V8's GC
// heuristics and cost 300-500 us here, as much as the op itself. The report follows the true
// total whenever the two differ by more than 32 MiB.
int64_t g_native_bytes = 0;
int64_t g_reported_bytes = 0;
constexpr int64_t kReportStep = int64_t(32) << 20;
void ReportNative(napi_env env, int64_t delta) {
  g_native_bytes += delta;
  const int64_t diff = g_native_bytes - g_reported_bytes;
  if (env != nullptr && (diff > kReportStep || diff < -kReportStep)) {
    int64_t ignored;
    napi_adjust_external_memory(env, diff, &ignored);
    g_reported_bytes = g_native_bytes;
  }
}
Napi::FunctionReference* g_ctor = nullptr;


// ---------------------------------------------------------------------------------------------
// A caching CPU allocator. Training and evaluation loops allocate the same large activation
// buffers every step; glibc handed freed pages back and faulted them in again, and returned
// blocks at new addresses (cold in cache). Measured here: an elementwise op on a 6.4 MB tensor
// took 1.1-4.8 ms in Node against 0.28 ms in Python on the same libtorch, with up to 1,570 page
// faults per op. This allocator keeps freed blocks of 64 KiB and more, per exact (4 KiB-rounded)
// size, and hands the most recently freed one out first. Smaller blocks go straight to malloc.
// Cached bytes are capped (BIAS_TRANSFER_CPU_CACHE_MB, default 512; 0 disables the allocator);
// `EmptyCache` (and `mallocTrim` in TypeScript) releases them.
class CachingCPUAllocator final : public c10::Allocator {
 public:
  explicit CachingCPUAllocator(size_t limit) : limit_(limit) {}
  static constexpr size_t kMin = size_t(1) << 16;

  c10::DataPtr allocate(size_t n) const override {
    void* p = nullptr;
    if (n >= kMin) {
      const size_t sz = (n + 4095) & ~size_t(4095);
      {
        std::lock_guard<std::mutex> g(mu_);
        auto it = free_.find(sz);
        if (it != free_.end() && !it->second.empty()) {
          p = it->second.back();
          it->second.pop_back();
          cached_ -= sz;
        }
      }
      if (p == nullptr) p = c10::alloc_cpu(sz);
      std::lock_guard<std::mutex> g(mu_);
      sizes_[p] = sz;
    } else {
      p = c10::alloc_cpu(n);
    }
    return {p, p, &Release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &Release; }

  static void Release(void* p) {
    if (p == nullptr) return;
    CachingCPUAllocator* self = instance;
    {
      std::lock_guard<std::mutex> g(self->mu_);
      auto it = self->sizes_.find(p);
      if (it != self->sizes_.end()) {
        const size_t sz = it->second;
        self->sizes_.erase(it);
        if (self->cached_ + sz <= self->limit_) {
          self->free_[sz].push_back(p);
          self->cached_ += sz;
          return;
        }
      }
    }
    c10::free_cpu(p);
  }

  size_t EmptyCache() {
    std::vector<void*> blocks;
    size_t bytes;
    {
      std::lock_guard<std::mutex> g(mu_);
      for (auto& kv : free_) blocks.insert(blocks.end(), kv.second.begin(), kv.second.end());
      free_.clear();
      bytes = cached_;
      cached_ = 0;
    }
    for (void* b : blocks) c10::free_cpu(b);
    return bytes;
  }
  size_t Cached() {
    std::lock_guard<std::mutex> g(mu_);
    return cached_;
  }

  static CachingCPUAllocator* instance;

 private:
  const size_t limit_;
  mutable std::mutex mu_;
  mutable std::unordered_map<size_t, std::vector<void*>> free_;
  mutable std::unordered_map<void*, size_t> sizes_;
  mutable size_t cached_ = 0;
};
CachingCPUAllocator* CachingCPUAllocator::instance = nullptr;

// ---------------------------------------------------------------------------------------------
// NativeTensor: the owning handle.
class NativeTensor : public Napi::ObjectWrap<NativeTensor> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "NativeTensor",
                       {InstanceMethod("dispose", &NativeTensor::Dispose),
                        InstanceAccessor("disposed", &NativeTensor::Disposed, nullptr)});
  }
  explicit NativeTensor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeTensor>(info) {}
  ~NativeTensor() override { Release(nullptr); }

  void Set(Napi::Env env, at::Tensor t) {
    tensor_ = std::move(t);
    has_ = true;
    ++g_live;
    reported_ = tensor_.has_storage() ? static_cast<int64_t>(tensor_.storage().nbytes()) : 0;
    if (reported_ > 0) ReportNative(env, reported_);
  }
  // Releases the tensor. env is null when called from the finalizer (no JS calls allowed).
  void Release(napi_env env) {
    if (!has_) return;
    has_ = false;
    tensor_ = at::Tensor();
    --g_live;
    if (reported_ > 0) ReportNative(env, -reported_);
    reported_ = 0;
  }
  const at::Tensor& Get(Napi::Env env) const {
    if (!has_) throw Napi::Error::New(env, "Tensor was disposed and cannot be used");
    return tensor_;
  }
  void Finalize(Napi::Env env) override { Release(env); }

 private:
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    Release(info.Env());
    return info.Env().Undefined();
  }
  Napi::Value Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !has_); }

  at::Tensor tensor_;
  bool has_ = false;
  int64_t reported_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Argument helpers.
Napi::Value Wrap(Napi::Env env, at::Tensor t) {
  if (!t.defined()) return env.Undefined();
  Napi::Object obj = g_ctor->New({});
  NativeTensor::Unwrap(obj)->Set(env, std::move(t));
  return obj;
}

Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& ts) {
  Napi::Array arr = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); ++i) arr.Set(static_cast<uint32_t>(i), Wrap(env, ts[i]));
  return arr;
}

const at::Tensor& T(const Napi::CallbackInfo& info, size_t i) {
  Napi::Env env = info.Env();
  if (i >= info.Length() || !info[i].IsObject() || !info[i].As<Napi::Object>().InstanceOf(g_ctor->Value()))
    throw Napi::TypeError::New(env, "argument " + std::to_string(i) + " must be a tensor");
  return NativeTensor::Unwrap(info[i].As<Napi::Object>())->Get(env);
}

c10::optional<at::Tensor> OT(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull()) return c10::nullopt;
  return T(info, i);
}

std::vector<at::Tensor> TL(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray())
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be an array of tensors");
  Napi::Array arr = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value v = arr.Get(k);
    if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(g_ctor->Value()))
      throw Napi::TypeError::New(info.Env(), "element " + std::to_string(k) + " is not a tensor");
    out.push_back(NativeTensor::Unwrap(v.As<Napi::Object>())->Get(info.Env()));
  }
  return out;
}

double D(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber())
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}
int64_t I(const Napi::CallbackInfo& info, size_t i) {
  double d = D(info, i);
  if (!std::isfinite(d) || d != std::floor(d))
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be an integer");
  return static_cast<int64_t>(d);
}
bool B(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsBoolean())
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}
std::string S(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsString())
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}
bool Present(const Napi::CallbackInfo& info, size_t i) {
  return i < info.Length() && !info[i].IsUndefined() && !info[i].IsNull();
}
std::vector<int64_t> IL(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsArray())
    throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be an array of integers");
  Napi::Array arr = info[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value v = arr.Get(k);
    if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), "array element " + std::to_string(k) + " must be an integer");
    double d = v.As<Napi::Number>().DoubleValue();
    if (d != std::floor(d)) throw Napi::TypeError::New(info.Env(), "array element " + std::to_string(k) + " must be an integer");
    out[k] = static_cast<int64_t>(d);
  }
  return out;
}
c10::optional<std::vector<int64_t>> OIL(const Napi::CallbackInfo& info, size_t i) {
  if (!Present(info, i)) return c10::nullopt;
  return IL(info, i);
}
// A JS number or boolean as a Scalar: integers stay integral so int tensors keep their dtype.
at::Scalar SC(const Napi::CallbackInfo& info, size_t i) {
  if (i < info.Length() && info[i].IsBoolean()) return at::Scalar(info[i].As<Napi::Boolean>().Value());
  double d = D(info, i);
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0) return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}
bool IsTensor(const Napi::CallbackInfo& info, size_t i) {
  return i < info.Length() && info[i].IsObject() && info[i].As<Napi::Object>().InstanceOf(g_ctor->Value());
}

at::ScalarType DT(Napi::Env env, const std::string& s) {
  if (s == "float32") return at::kFloat;
  if (s == "float64") return at::kDouble;
  if (s == "float16") return at::kHalf;
  if (s == "bfloat16") return at::kBFloat16;
  if (s == "int8") return at::kChar;
  if (s == "int16") return at::kShort;
  if (s == "int32") return at::kInt;
  if (s == "int64") return at::kLong;
  if (s == "uint8") return at::kByte;
  if (s == "bool") return at::kBool;
  throw Napi::TypeError::New(env, "unknown dtype '" + s + "'");
}
std::string DTName(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kChar: return "int8";
    case at::kShort: return "int16";
    case at::kInt: return "int32";
    case at::kLong: return "int64";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return std::string("unsupported:") + c10::toString(t);
  }
}
at::TensorOptions Opts(const Napi::CallbackInfo& info, size_t dtypeArg, size_t deviceArg) {
  at::TensorOptions o = at::TensorOptions().dtype(DT(info.Env(), S(info, dtypeArg)));
  if (Present(info, deviceArg)) o = o.device(c10::Device(S(info, deviceArg)));
  return o;
}
int64_t Reduction(Napi::Env env, const std::string& r) {
  if (r == "mean") return at::Reduction::Mean;
  if (r == "sum") return at::Reduction::Sum;
  if (r == "none") return at::Reduction::None;
  throw Napi::TypeError::New(env, "unknown reduction '" + r + "' (expected mean, sum or none)");
}

// Every export runs through Guard, which turns libtorch errors into JS errors.
template <typename F>
Napi::Value Guard(const Napi::CallbackInfo& info, F&& f) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

#define FN(name) static Napi::Value name(const Napi::CallbackInfo& info)
#define RET(expr) return Guard(info, [&]() -> Napi::Value { return (expr); })
#define RETT(expr) return Guard(info, [&]() -> Napi::Value { return Wrap(info.Env(), (expr)); })
#define UNDEF info.Env().Undefined()

// ---------------------------------------------------------------------------------------------
// Creation and export.
FN(FromBytes) {  // (typedArrayOrBuffer, dtype, shape, device?)
  return Guard(info, [&]() -> Napi::Value {
    if (!info[0].IsTypedArray() && !info[0].IsArrayBuffer())
      throw Napi::TypeError::New(info.Env(), "argument 0 must be a typed array or ArrayBuffer");
    const uint8_t* data;
    size_t len;
    if (info[0].IsTypedArray()) {
      Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
      data = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      len = ta.ByteLength();
    } else {
      Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
      data = static_cast<const uint8_t*>(ab.Data());
      len = ab.ByteLength();
    }
    at::ScalarType dt = DT(info.Env(), S(info, 1));
    std::vector<int64_t> shape = IL(info, 2);
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dt));
    size_t need = t.nbytes();
    if (need != len)
      throw Napi::RangeError::New(info.Env(), "byte length " + std::to_string(len) + " does not match shape and dtype (" +
                                                  std::to_string(need) + " bytes expected)");
    if (need > 0) std::memcpy(t.data_ptr(), data, need);
    if (Present(info, 3)) {
      c10::Device dev(S(info, 3));
      if (!dev.is_cpu()) t = t.to(dev);
    }
    return Wrap(info.Env(), t);
  });
}
FN(ToBytes) {  // (t) -> ArrayBuffer (contiguous CPU copy)
  return Guard(info, [&]() -> Napi::Value {
    at::Tensor t = T(info, 0).detach().to(at::kCPU).contiguous();
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(info.Env(), t.nbytes());
    if (t.nbytes() > 0) std::memcpy(ab.Data(), t.data_ptr(), t.nbytes());
    return ab;
  });
}
FN(Item) {
  return Guard(info, [&]() -> Napi::Value {
    const at::Tensor& t = T(info, 0);
    if (t.numel() != 1)
      throw Napi::RangeError::New(info.Env(), "item() needs a tensor with one element, got " + std::to_string(t.numel()));
    at::Scalar s = t.item();
    if (s.isBoolean()) return Napi::Boolean::New(info.Env(), s.toBool());
    return Napi::Number::New(info.Env(), s.toDouble());
  });
}
FN(Zeros) { RETT(at::zeros(IL(info, 0), Opts(info, 1, 2))); }
FN(Ones) { RETT(at::ones(IL(info, 0), Opts(info, 1, 2))); }
FN(Empty) { RETT(at::empty(IL(info, 0), Opts(info, 1, 2))); }
FN(Full) { RETT(at::full(IL(info, 0), SC(info, 1), Opts(info, 2, 3))); }
FN(Rand) { RETT(at::rand(IL(info, 0), Opts(info, 1, 2))); }
FN(Randn) { RETT(at::randn(IL(info, 0), Opts(info, 1, 2))); }
FN(Randint) { RETT(at::randint(I(info, 0), I(info, 1), IL(info, 2), Opts(info, 3, 4))); }  // (low, high, shape, dtype, device)
FN(Randperm) { RETT(at::randperm(I(info, 0), Opts(info, 1, 2))); }
FN(Arange) { RETT(at::arange(SC(info, 0), SC(info, 1), SC(info, 2), Opts(info, 3, 4))); }  // (start, end, step, ...)
FN(Eye) { RETT(at::eye(I(info, 0), Opts(info, 1, 2))); }

// Metadata.
FN(Shape) {
  return Guard(info, [&]() -> Napi::Value {
    const at::Tensor& t = T(info, 0);
    Napi::Array arr = Napi::Array::New(info.Env(), t.dim());
    for (int64_t k = 0; k < t.dim(); ++k) arr.Set(static_cast<uint32_t>(k), Napi::Number::New(info.Env(), static_cast<double>(t.size(k))));
    return arr;
  });
}
FN(Dtype) { RET(Napi::String::New(info.Env(), DTName(T(info, 0).scalar_type()))); }
FN(DeviceOf) { RET(Napi::String::New(info.Env(), T(info, 0).device().str())); }
FN(IsContiguous) {
  return Guard(info, [&]() -> Napi::Value {
    const at::Tensor& t = T(info, 0);
    bool cl = Present(info, 1) && B(info, 1);
    return Napi::Boolean::New(info.Env(), t.is_contiguous(cl ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous));
  });
}
FN(RequiresGrad) { RET(Napi::Boolean::New(info.Env(), T(info, 0).requires_grad())); }
FN(SetRequiresGrad) {
  return Guard(info, [&]() -> Napi::Value {
    at::Tensor t = T(info, 0);
    t.set_requires_grad(B(info, 1));
    return UNDEF;
  });
}
FN(IsLeaf) { RET(Napi::Boolean::New(info.Env(), T(info, 0).is_leaf())); }
FN(SameStorage) { RET(Napi::Boolean::New(info.Env(), T(info, 0).is_alias_of(T(info, 1)))); }

// Views and shape.
FN(Reshape) { RETT(T(info, 0).reshape(IL(info, 1))); }
FN(View) { RETT(T(info, 0).view(IL(info, 1))); }
FN(Permute) { RETT(T(info, 0).permute(IL(info, 1))); }
FN(Transpose) { RETT(T(info, 0).transpose(I(info, 1), I(info, 2))); }
FN(Contiguous) {
  return Guard(info, [&]() -> Napi::Value {
    bool cl = Present(info, 1) && B(info, 1);
    return Wrap(info.Env(), T(info, 0).contiguous(cl ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous));
  });
}
FN(Squeeze) { RETT(Present(info, 1) ? T(info, 0).squeeze(I(info, 1)) : T(info, 0).squeeze()); }
FN(Unsqueeze) { RETT(T(info, 0).unsqueeze(I(info, 1))); }
FN(Flatten) { RETT(T(info, 0).flatten(I(info, 1), I(info, 2))); }
FN(Expand) { RETT(T(info, 0).expand(IL(info, 1))); }
FN(Slice) { RETT(T(info, 0).slice(I(info, 1), I(info, 2), I(info, 3), I(info, 4))); }  // (t, dim, start, end, step)
FN(Select) { RETT(T(info, 0).select(I(info, 1), I(info, 2))); }
FN(IndexSelect) { RETT(T(info, 0).index_select(I(info, 1), T(info, 2))); }
FN(Gather) { RETT(T(info, 0).gather(I(info, 1), T(info, 2))); }
FN(Scatter) {  // (t, dim, index, srcTensorOrScalar)
  return Guard(info, [&]() -> Napi::Value {
    if (IsTensor(info, 3)) return Wrap(info.Env(), T(info, 0).scatter(I(info, 1), T(info, 2), T(info, 3)));
    return Wrap(info.Env(), T(info, 0).scatter(I(info, 1), T(info, 2), SC(info, 3)));
  });
}
FN(ScatterAdd) { RETT(T(info, 0).scatter_add(I(info, 1), T(info, 2), T(info, 3))); }
FN(MaskedFill) { RETT(T(info, 0).masked_fill(T(info, 1), SC(info, 2))); }
FN(MaskedSelect) { RETT(T(info, 0).masked_select(T(info, 1))); }
FN(Where) {  // (cond, a, b): a and b tensors or scalars
  return Guard(info, [&]() -> Napi::Value {
    const at::Tensor& c = T(info, 0);
    bool ta = IsTensor(info, 1), tb = IsTensor(info, 2);
    if (ta && tb) return Wrap(info.Env(), at::where(c, T(info, 1), T(info, 2)));
    if (ta) return Wrap(info.Env(), at::where(c, T(info, 1), SC(info, 2)));
    if (tb) return Wrap(info.Env(), at::where(c, SC(info, 1), T(info, 2)));
    return Wrap(info.Env(), at::where(c, SC(info, 1), SC(info, 2)));
  });
}
FN(Cat) { RETT(at::cat(TL(info, 0), I(info, 1))); }
FN(Stack) { RETT(at::stack(TL(info, 0), I(info, 1))); }
FN(Split) {  // (t, sizes[], dim)
  RET(WrapList(info.Env(), T(info, 0).split_with_sizes(IL(info, 1), I(info, 2))));
}
FN(Clone) { RETT(T(info, 0).clone()); }
FN(To) {  // (t, dtype?, device?)
  return Guard(info, [&]() -> Napi::Value {
    at::Tensor t = T(info, 0);
    if (Present(info, 1)) t = t.to(DT(info.Env(), S(info, 1)));
    if (Present(info, 2)) t = t.to(c10::Device(S(info, 2)));
    return Wrap(info.Env(), t);
  });
}
FN(Detach) { RETT(T(info, 0).detach()); }
FN(Pad) { RETT(at::constant_pad_nd(T(info, 0), IL(info, 1), SC(info, 2))); }  // (t, pads, value)
FN(Flip) { RETT(T(info, 0).flip(IL(info, 1))); }

// Elementwise.
#define BINARY(NAME, METHOD)                                                              \
  FN(NAME) {                                                                              \
    return Guard(info, [&]() -> Napi::Value {                                             \
      if (IsTensor(info, 1)) return Wrap(info.Env(), T(info, 0).METHOD(T(info, 1)));      \
      return Wrap(info.Env(), T(info, 0).METHOD(SC(info, 1)));                            \
    });                                                                                   \
  }
FN(Add) {  // (a, b, alpha)
  return Guard(info, [&]() -> Napi::Value {
    at::Scalar alpha = Present(info, 2) ? SC(info, 2) : at::Scalar(1);
    if (IsTensor(info, 1)) return Wrap(info.Env(), at::add(T(info, 0), T(info, 1), alpha));
    return Wrap(info.Env(), at::add(T(info, 0), SC(info, 1), alpha));
  });
}
FN(Sub) {
  return Guard(info, [&]() -> Napi::Value {
    at::Scalar alpha = Present(info, 2) ? SC(info, 2) : at::Scalar(1);
    if (IsTensor(info, 1)) return Wrap(info.Env(), at::sub(T(info, 0), T(info, 1), alpha));
    return Wrap(info.Env(), at::sub(T(info, 0), SC(info, 1), alpha));
  });
}
BINARY(Mul, mul)
BINARY(Div, div)
BINARY(Pow, pow)
BINARY(Eq, eq)
BINARY(Ne, ne)
BINARY(Lt, lt)
BINARY(Le, le)
BINARY(Gt, gt)
BINARY(Ge, ge)
BINARY(Remainder, remainder)
FN(Maximum) { RETT(at::maximum(T(info, 0), T(info, 1))); }
FN(Minimum) { RETT(at::minimum(T(info, 0), T(info, 1))); }
FN(LogicalAnd) { RETT(at::logical_and(T(info, 0), T(info, 1))); }
FN(LogicalOr) { RETT(at::logical_or(T(info, 0), T(info, 1))); }
FN(LogicalNot) { RETT(at::logical_not(T(info, 0))); }
FN(Clamp) {  // (t, min?, max?)
  return Guard(info, [&]() -> Napi::Value {
    c10::optional<at::Scalar> lo, hi;
    if (Present(info, 1)) lo = SC(info, 1);
    if (Present(info, 2)) hi = SC(info, 2);
    return Wrap(info.Env(), at::clamp(T(info, 0), lo, hi));
  });
}
#define UNARY(NAME, EXPR) \
  FN(NAME) { RETT(EXPR(T(info, 0))); }
UNARY(Neg, at::neg)
UNARY(Exp, at::exp)
UNARY(Log, at::log)
UNARY(Sqrt, at::sqrt)
UNARY(Rsqrt, at::rsqrt)
UNARY(Abs, at::abs)
UNARY(Sign, at::sign)
UNARY(Floor, at::floor)
UNARY(Ceil, at::ceil)
UNARY(Round, at::round)
UNARY(Relu, at::relu)
UNARY(Sigmoid, at::sigmoid)
UNARY(Tanh, at::tanh)
UNARY(Isfinite, at::isfinite)
UNARY(Isnan, at::isnan)
FN(Gelu) { RETT(at::gelu(T(info, 0), Present(info, 1) ? S(info, 1) : "none")); }

// Reductions. dims may be undefined (all dims).
FN(Sum) {  // (t, dims?, keepdim, dtype?)
  return Guard(info, [&]() -> Napi::Value {
    c10::optional<at::ScalarType> dt;
    if (Present(info, 3)) dt = DT(info.Env(), S(info, 3));
    if (!Present(info, 1)) return Wrap(info.Env(), T(info, 0).sum(dt));
    return Wrap(info.Env(), T(info, 0).sum(IL(info, 1), B(info, 2), dt));
  });
}
FN(Mean) {
  return Guard(info, [&]() -> Napi::Value {
    if (!Present(info, 1)) return Wrap(info.Env(), T(info, 0).mean());
    return Wrap(info.Env(), T(info, 0).mean(IL(info, 1), B(info, 2)));
  });
}
FN(Std) {  // (t, dims?, unbiased, keepdim)
  return Guard(info, [&]() -> Napi::Value {
    auto dims = OIL(info, 1);
    if (!dims) return Wrap(info.Env(), at::std(T(info, 0), B(info, 2)));
    return Wrap(info.Env(), at::std(T(info, 0), at::OptionalIntArrayRef(*dims), B(info, 2), B(info, 3)));
  });
}
FN(Var) {
  return Guard(info, [&]() -> Napi::Value {
    auto dims = OIL(info, 1);
    if (!dims) return Wrap(info.Env(), at::var(T(info, 0), B(info, 2)));
    return Wrap(info.Env(), at::var(T(info, 0), at::OptionalIntArrayRef(*dims), B(info, 2), B(info, 3)));
  });
}
FN(Amax) { RETT(Present(info, 1) ? at::amax(T(info, 0), IL(info, 1), B(info, 2)) : T(info, 0).max()); }
FN(Amin) { RETT(Present(info, 1) ? at::amin(T(info, 0), IL(info, 1), B(info, 2)) : T(info, 0).min()); }
FN(MaxDim) {  // (t, dim, keepdim) -> [values, indices]
  return Guard(info, [&]() -> Napi::Value {
    auto r = at::max(T(info, 0), I(info, 1), B(info, 2));
    return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  });
}
FN(MinDim) {
  return Guard(info, [&]() -> Napi::Value {
    auto r = at::min(T(info, 0), I(info, 1), B(info, 2));
    return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  });
}
FN(Argmax) {
  return Guard(info, [&]() -> Napi::Value {
    if (!Present(info, 1)) return Wrap(info.Env(), T(info, 0).argmax());
    return Wrap(info.Env(), T(info, 0).argmax(I(info, 1), B(info, 2)));
  });
}
FN(Argmin) {
  return Guard(info, [&]() -> Napi::Value {
    if (!Present(info, 1)) return Wrap(info.Env(), T(info, 0).argmin());
    return Wrap(info.Env(), T(info, 0).argmin(I(info, 1), B(info, 2)));
  });
}
FN(Topk) {  // (t, k, dim, largest, sorted) -> [values, indices]
  return Guard(info, [&]() -> Napi::Value {
    auto r = T(info, 0).topk(I(info, 1), I(info, 2), B(info, 3), B(info, 4));
    return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  });
}
FN(All) { RETT(T(info, 0).all()); }
FN(Any) { RETT(T(info, 0).any()); }
FN(Matmul) { RETT(at::matmul(T(info, 0), T(info, 1))); }
FN(Allclose) { RET(Napi::Boolean::New(info.Env(), at::allclose(T(info, 0), T(info, 1), D(info, 2), D(info, 3)))); }

// Neural-network ops.
FN(Conv2d) {  // (x, w, b?, stride[2], padding[2], dilation[2], groups)
  RETT(at::conv2d(T(info, 0), T(info, 1), OT(info, 2), IL(info, 3), IL(info, 4), IL(info, 5), I(info, 6)));
}
FN(BatchNorm) {  // (x, weight?, bias?, runningMean?, runningVar?, training, momentum, eps)
  RETT(at::batch_norm(T(info, 0), OT(info, 1), OT(info, 2), OT(info, 3), OT(info, 4), B(info, 5), D(info, 6), D(info, 7), false));
}
FN(BatchNormAct) {  // (x, residual?, weight?, bias?, runningMean?, runningVar?, momentum, eps, relu): training mode
  return Guard(info, [&]() -> Napi::Value {
    auto opt = [&](size_t i) { return Present(info, i) ? T(info, i) : at::Tensor(); };
    return Wrap(info.Env(), bt::BatchNormActTrain(T(info, 0), opt(1), opt(2), opt(3), opt(4), opt(5), D(info, 6),
                                                  D(info, 7), B(info, 8)));
  });
}
FN(BatchNormReluPool) {  // (x, weight?, bias?, runningMean?, runningVar?, momentum, eps, kh, kw): training mode
  return Guard(info, [&]() -> Napi::Value {
    auto opt = [&](size_t i) { return Present(info, i) ? T(info, i) : at::Tensor(); };
    return Wrap(info.Env(), bt::BatchNormReluPoolTrain(T(info, 0), opt(1), opt(2), opt(3), opt(4), D(info, 5), D(info, 6),
                                                       I(info, 7), I(info, 8)));
  });
}
FN(ReluMaxPool) { RETT(bt::ReluMaxPool(T(info, 0), I(info, 1), I(info, 2))); }  // (x, kh, kw): no grad
FN(Linear) { RETT(at::linear(T(info, 0), T(info, 1), OT(info, 2))); }
FN(MaxPool2d) {  // (x, kernel[2], stride[2], padding[2], dilation[2], ceilMode)
  RETT(at::max_pool2d(T(info, 0), IL(info, 1), IL(info, 2), IL(info, 3), IL(info, 4), B(info, 5)));
}
FN(AvgPool2d) {  // (x, kernel[2], stride[2], padding[2], ceilMode, countIncludePad)
  RETT(at::avg_pool2d(T(info, 0), IL(info, 1), IL(info, 2), IL(info, 3), B(info, 4), B(info, 5), c10::nullopt));
}
FN(AdaptiveAvgPool2d) { RETT(at::adaptive_avg_pool2d(T(info, 0), IL(info, 1))); }
FN(Dropout) { RETT(at::dropout(T(info, 0), D(info, 1), B(info, 2))); }
FN(Softmax) { RETT(at::softmax(T(info, 0), I(info, 1))); }
FN(LogSoftmax) { RETT(at::log_softmax(T(info, 0), I(info, 1))); }
FN(CrossEntropy) {  // (logits, target, weight?, reduction, ignoreIndex, labelSmoothing)
  RETT(at::cross_entropy_loss(T(info, 0), T(info, 1), OT(info, 2), Reduction(info.Env(), S(info, 3)), I(info, 4), D(info, 5)));
}
FN(NllLoss) {  // (logProbs, target, weight?, reduction, ignoreIndex)
  RETT(at::nll_loss_nd(T(info, 0), T(info, 1), OT(info, 2), Reduction(info.Env(), S(info, 3)), I(info, 4)));
}
FN(MseLoss) { RETT(at::mse_loss(T(info, 0), T(info, 1), Reduction(info.Env(), S(info, 2)))); }
FN(OneHot) { RETT(at::one_hot(T(info, 0), I(info, 1))); }
FN(Interpolate) {  // (x, size[2], mode, alignCorners, scaleH?, scaleW?)
  return Guard(info, [&]() -> Napi::Value {
    std::vector<int64_t> size = IL(info, 1);
    std::string mode = S(info, 2);
    c10::optional<double> sh, sw;
    if (Present(info, 4)) sh = D(info, 4);
    if (Present(info, 5)) sw = D(info, 5);
    if (mode == "nearest") return Wrap(info.Env(), at::upsample_nearest2d(T(info, 0), size, sh, sw));
    if (mode == "bilinear") return Wrap(info.Env(), at::upsample_bilinear2d(T(info, 0), size, B(info, 3), sh, sw));
    throw Napi::TypeError::New(info.Env(), "unknown interpolation mode '" + mode + "' (expected nearest or bilinear)");
  });
}

// In-place updates (optimizers, initialisation, buffers). They return nothing.
#define INPLACE(NAME, ...)                               \
  FN(NAME) {                                              \
    return Guard(info, [&]() -> Napi::Value {             \
      at::Tensor t = T(info, 0);                          \
      __VA_ARGS__;                                        \
      return UNDEF;                                       \
    });                                                   \
  }
INPLACE(AddInplace, {
  at::Scalar alpha = Present(info, 2) ? SC(info, 2) : at::Scalar(1);
  if (IsTensor(info, 1)) t.add_(T(info, 1), alpha); else t.add_(SC(info, 1), alpha);
})
INPLACE(MulInplace, { if (IsTensor(info, 1)) t.mul_(T(info, 1)); else t.mul_(SC(info, 1)); })
INPLACE(DivInplace, { if (IsTensor(info, 1)) t.div_(T(info, 1)); else t.div_(SC(info, 1)); })
INPLACE(AddcmulInplace, { t.addcmul_(T(info, 1), T(info, 2), SC(info, 3)); })
INPLACE(AddcdivInplace, { t.addcdiv_(T(info, 1), T(info, 2), SC(info, 3)); })
INPLACE(LerpInplace, { t.lerp_(T(info, 1), SC(info, 2)); })
INPLACE(CopyInplace, { t.copy_(T(info, 1)); })
INPLACE(ZeroInplace, { t.zero_(); })
INPLACE(FillInplace, { t.fill_(SC(info, 1)); })
INPLACE(UniformInplace, { t.uniform_(D(info, 1), D(info, 2)); })
INPLACE(NormalInplace, { t.normal_(D(info, 1), D(info, 2)); })
INPLACE(SqrtInplace, { t.sqrt_(); })
INPLACE(ReluInplace, { t.relu_(); })
INPLACE(ClampInplace, {
  c10::optional<at::Scalar> lo, hi;
  if (Present(info, 1)) lo = SC(info, 1);
  if (Present(info, 2)) hi = SC(info, 2);
  t.clamp_(lo, hi);
})

// Autograd.
FN(Backward) {  // (t, grad?, retainGraph)
  return Guard(info, [&]() -> Napi::Value {
    at::Tensor t = T(info, 0);
    c10::optional<at::Tensor> g = OT(info, 1);
    t.backward(g ? *g : at::Tensor(), Present(info, 2) ? c10::optional<bool>(B(info, 2)) : c10::nullopt, false);
    return UNDEF;
  });
}
FN(Grad) { RETT(T(info, 0).grad()); }  // undefined when no gradient
FN(SetGrad) {  // (t, g?) sets or clears .grad
  return Guard(info, [&]() -> Napi::Value {
    at::Tensor t = T(info, 0);
    c10::optional<at::Tensor> g = OT(info, 1);
    t.mutable_grad() = g ? *g : at::Tensor();
    return UNDEF;
  });
}
FN(SetGradEnabled) {
  return Guard(info, [&]() -> Napi::Value {
    bool prev = at::GradMode::is_enabled();
    at::GradMode::set_enabled(B(info, 0));
    return Napi::Boolean::New(info.Env(), prev);
  });
}
FN(IsGradEnabled) { RET(Napi::Boolean::New(info.Env(), at::GradMode::is_enabled())); }

// Inference mode is an RAII guard in libtorch; the TS layer nests enter/exit strictly.
std::vector<std::unique_ptr<c10::InferenceMode>> g_inference;
FN(InferenceEnter) {
  return Guard(info, [&]() -> Napi::Value {
    g_inference.emplace_back(new c10::InferenceMode(true));
    return Napi::Number::New(info.Env(), static_cast<double>(g_inference.size()));
  });
}
FN(InferenceExit) {
  return Guard(info, [&]() -> Napi::Value {
    if (g_inference.empty()) throw Napi::Error::New(info.Env(), "inference mode exit without enter");
    g_inference.pop_back();
    return UNDEF;
  });
}
FN(IsInferenceMode) { RET(Napi::Boolean::New(info.Env(), c10::InferenceMode::is_enabled())); }

// Runtime settings.
FN(ManualSeed) {
  return Guard(info, [&]() -> Napi::Value {
    at::manual_seed(static_cast<uint64_t>(I(info, 0)));
    return UNDEF;
  });
}
FN(SetNumThreads) {
  return Guard(info, [&]() -> Napi::Value {
    at::set_num_threads(static_cast<int>(I(info, 0)));
    return UNDEF;
  });
}
FN(GetNumThreads) { RET(Napi::Number::New(info.Env(), at::get_num_threads())); }
FN(SetDeterministic) {
  return Guard(info, [&]() -> Napi::Value {
    at::globalContext().setDeterministicAlgorithms(B(info, 0), false);
    return UNDEF;
  });
}
FN(GetDeterministic) { RET(Napi::Boolean::New(info.Env(), at::globalContext().deterministicAlgorithms())); }
FN(LiveTensors) { RET(Napi::Number::New(info.Env(), static_cast<double>(g_live.load()))); }
FN(MallocTrim) {
  return Guard(info, [&]() -> Napi::Value {
    if (CachingCPUAllocator::instance != nullptr) CachingCPUAllocator::instance->EmptyCache();
    return Napi::Boolean::New(info.Env(), malloc_trim(0) != 0);
  });
}
FN(CachedBytes) {
  RET(Napi::Number::New(info.Env(), CachingCPUAllocator::instance ? static_cast<double>(CachingCPUAllocator::instance->Cached()) : 0.0));
}
FN(BuildInfo) {
  return Guard(info, [&]() -> Napi::Value {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("torchVersion", std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                              std::to_string(TORCH_VERSION_PATCH));
    o.Set("config", at::show_config());
    o.Set("parallelInfo", at::get_parallel_info());
    o.Set("mkldnn", at::hasMKLDNN());
    o.Set("cuda", at::hasCUDA());
    o.Set("openmp", at::hasOpenMP());
    return o;
  });
}

#define EXPORT(name) exports.Set(#name, Napi::Function::New(env, name, #name))

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // glibc keeps one malloc arena per thread that ever allocated; tensors freed on the main thread
  // after libtorch's worker threads allocated them fragment those arenas and resident memory
  // grows without bound (measured: +3.3 GB over a long training loop). One arena keeps it flat at
  // no measurable speed cost (see bench/engine.ts). A user's explicit MALLOC_ARENA_MAX wins.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 1);
  // With one arena, glibc's dynamic thresholds trimmed the heap top after every step and the next
  // step faulted the same pages back in (measured: about 8,000 minor page faults per training step
  // of bench/smallresnet.ts at batch 128, 0-30 with these settings). Fixed thresholds keep up to
  // 128 MB of freed heap for reuse; blocks over 32 MB (glibc's own dynamic maximum) are still
  // mmapped and returned at once. `mallocTrim()` hands the kept memory back on demand. A user's
  // explicit MALLOC_*_THRESHOLD_ or GLIBC_TUNABLES wins.
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr && std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr &&
      std::getenv("GLIBC_TUNABLES") == nullptr) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
  }

  // The caching allocator is created once and never destroyed: tensors may outlive the module.
  if (CachingCPUAllocator::instance == nullptr) {
    const char* mb = std::getenv("BIAS_TRANSFER_CPU_CACHE_MB");
    const double limit = mb != nullptr ? std::atof(mb) : 512.0;
    if (limit > 0) {
      CachingCPUAllocator::instance = new CachingCPUAllocator(static_cast<size_t>(limit * 1024 * 1024));
      c10::SetCPUAllocator(CachingCPUAllocator::instance, /*priority=*/100);
    }
  }

  Napi::Function ctor = NativeTensor::Init(env);
  g_ctor = new Napi::FunctionReference(Napi::Persistent(ctor));
  exports.Set("NativeTensor", ctor);

  EXPORT(FromBytes); EXPORT(ToBytes); EXPORT(Item);
  EXPORT(Zeros); EXPORT(Ones); EXPORT(Empty); EXPORT(Full); EXPORT(Rand); EXPORT(Randn); EXPORT(Randint);
  EXPORT(Randperm); EXPORT(Arange); EXPORT(Eye);
  EXPORT(Shape); EXPORT(Dtype); EXPORT(DeviceOf); EXPORT(IsContiguous); EXPORT(RequiresGrad); EXPORT(SetRequiresGrad);
  EXPORT(IsLeaf); EXPORT(SameStorage);
  EXPORT(Reshape); EXPORT(View); EXPORT(Permute); EXPORT(Transpose); EXPORT(Contiguous); EXPORT(Squeeze);
  EXPORT(Unsqueeze); EXPORT(Flatten); EXPORT(Expand); EXPORT(Slice); EXPORT(Select); EXPORT(IndexSelect);
  EXPORT(Gather); EXPORT(Scatter); EXPORT(ScatterAdd); EXPORT(MaskedFill); EXPORT(MaskedSelect); EXPORT(Where);
  EXPORT(Cat); EXPORT(Stack); EXPORT(Split); EXPORT(Clone); EXPORT(To); EXPORT(Detach); EXPORT(Pad); EXPORT(Flip);
  EXPORT(Add); EXPORT(Sub); EXPORT(Mul); EXPORT(Div); EXPORT(Pow); EXPORT(Eq); EXPORT(Ne); EXPORT(Lt); EXPORT(Le);
  EXPORT(Gt); EXPORT(Ge); EXPORT(Remainder); EXPORT(Maximum); EXPORT(Minimum); EXPORT(LogicalAnd); EXPORT(LogicalOr);
  EXPORT(LogicalNot); EXPORT(Clamp);
  EXPORT(Neg); EXPORT(Exp); EXPORT(Log); EXPORT(Sqrt); EXPORT(Rsqrt); EXPORT(Abs); EXPORT(Sign); EXPORT(Floor);
  EXPORT(Ceil); EXPORT(Round); EXPORT(Relu); EXPORT(Sigmoid); EXPORT(Tanh); EXPORT(Isfinite); EXPORT(Isnan); EXPORT(Gelu);
  EXPORT(Sum); EXPORT(Mean); EXPORT(Std); EXPORT(Var); EXPORT(Amax); EXPORT(Amin); EXPORT(MaxDim); EXPORT(MinDim);
  EXPORT(Argmax); EXPORT(Argmin); EXPORT(Topk); EXPORT(All); EXPORT(Any); EXPORT(Matmul); EXPORT(Allclose);
  EXPORT(Conv2d); EXPORT(BatchNorm); EXPORT(BatchNormAct); EXPORT(ReluMaxPool); EXPORT(BatchNormReluPool); EXPORT(Linear); EXPORT(MaxPool2d); EXPORT(AvgPool2d); EXPORT(AdaptiveAvgPool2d);
  EXPORT(Dropout); EXPORT(Softmax); EXPORT(LogSoftmax); EXPORT(CrossEntropy); EXPORT(NllLoss); EXPORT(MseLoss);
  EXPORT(OneHot); EXPORT(Interpolate);
  EXPORT(AddInplace); EXPORT(MulInplace); EXPORT(DivInplace); EXPORT(AddcmulInplace); EXPORT(AddcdivInplace);
  EXPORT(LerpInplace); EXPORT(CopyInplace); EXPORT(ZeroInplace); EXPORT(FillInplace); EXPORT(UniformInplace);
  EXPORT(NormalInplace); EXPORT(SqrtInplace); EXPORT(ReluInplace); EXPORT(ClampInplace);
  EXPORT(Backward); EXPORT(Grad); EXPORT(SetGrad); EXPORT(SetGradEnabled); EXPORT(IsGradEnabled);
  EXPORT(InferenceEnter); EXPORT(InferenceExit); EXPORT(IsInferenceMode);
  EXPORT(ManualSeed); EXPORT(SetNumThreads); EXPORT(GetNumThreads); EXPORT(SetDeterministic); EXPORT(GetDeterministic);
  EXPORT(LiveTensors); EXPORT(MallocTrim); EXPORT(CachedBytes); EXPORT(BuildInfo);
  return exports;
}

}  // namespace

NODE_API_MODULE(bias_transfer_torch, Init)
