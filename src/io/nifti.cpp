// NIfTI reading through nifti_clib (it handles NIfTI-1/2, byte order and .gz); writing builds the
// header with nifti_clib and writes header + data in memory through an AtomicFile, so a failed run
// never leaves a file that looks complete (nifti_image_write would write in place).
#include <swinsmt/io/nifti.hpp>

#include "common/file_io.hpp"
#include "common/strings.hpp"

#include <swinsmt/error.hpp>

#include <ATen/ATen.h>
#include <nifti2_io.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

namespace swinsmt::io {
namespace {

namespace fs = std::filesystem;

using detail::ends_with;

/// Reads the first bytes of a file, gunzipping transparently (zlib's gzread passes plain files through).
std::vector<unsigned char> read_prefix(const std::string& path, size_t count) {
  std::vector<unsigned char> bytes(count);
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error("cannot open " + path + ": " + std::strerror(errno));
  const int n = gzread(f, bytes.data(), static_cast<unsigned>(count));
  gzclose(f);
  bytes.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return bytes;
}

/// 1 or 2 for NIfTI-1/2 magic (either byte order), 0 otherwise.
int nifti_magic_version(const std::vector<unsigned char>& h) {
  if (h.size() >= 348 && (std::memcmp(&h[344], "n+1\0", 4) == 0 || std::memcmp(&h[344], "ni1\0", 4) == 0)) return 1;
  if (h.size() >= 12 && (std::memcmp(&h[4], "n+2\0", 4) == 0 || std::memcmp(&h[4], "ni2\0", 4) == 0)) return 2;
  return 0;
}

/// nifti_clib trusts the header's dim[0]: a fuzzed NIfTI-2 header with dim[0] = -7e18 made
/// nifti_image_read read out of bounds. So the raw header's size and dimension count are checked
/// (in either byte order) before nifti_clib sees the file.
void check_raw_header(const std::vector<unsigned char>& h, int version, const std::string& path) {
  const size_t header_size = version == 1 ? 348 : 540;
  if (h.size() < header_size)
    throw Error(path + " has a truncated NIfTI-" + std::to_string(version) + " header (" + std::to_string(h.size()) +
                " bytes; expected " + std::to_string(header_size) + ")");
  uint32_t sizeof_hdr;
  std::memcpy(&sizeof_hdr, h.data(), 4);
  const bool swap = sizeof_hdr != header_size;
  if (swap && __builtin_bswap32(sizeof_hdr) != header_size)
    throw Error(path + " has NIfTI-" + std::to_string(version) + " header size " + std::to_string(sizeof_hdr) +
                "; expected " + std::to_string(header_size));
  // dim[i] as stored: int16 at byte 40 (NIfTI-1) or int64 at byte 16 (NIfTI-2), in the file's order.
  const auto dim = [&](int64_t i) -> int64_t {
    if (version == 1) {
      uint16_t v;
      std::memcpy(&v, &h[40 + 2 * i], 2);
      return static_cast<int16_t>(swap ? __builtin_bswap16(v) : v);
    }
    uint64_t v;
    std::memcpy(&v, &h[16 + 8 * i], 8);
    return static_cast<int64_t>(swap ? __builtin_bswap64(v) : v);
  };
  const int64_t dims = dim(0);
  if (dims < 1 || dims > 7)
    throw Error(path + " declares " + std::to_string(dims) + " dimensions (dim[0]); expected 1 to 7");
  // nifti_clib turns a size of 0 (or less) into 1 without a word: say what the header holds.
  for (int64_t d = 1; d <= dims; ++d) {
    const int64_t size = dim(d);
    if (size < 1)
      throw Error(path + " declares " + std::to_string(size) + " voxels along dimension " + std::to_string(d) +
                  " (dim[" + std::to_string(d) + "]); expected at least 1");
  }
}

at::Tensor dmat44_to_tensor(const nifti_dmat44& m) {
  auto t = at::empty({4, 4}, at::kDouble);
  auto* p = t.data_ptr<double>();
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) p[r * 4 + c] = m.m[r][c];
  return t;
}

nifti_dmat44 tensor_to_dmat44(const at::Tensor& t) {
  const auto a = t.to(at::kDouble).contiguous();
  const double* p = a.data_ptr<double>();
  nifti_dmat44 m;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) m.m[r][c] = p[r * 4 + c];
  return m;
}

/// Millimetres per file unit (NIfTI: 1 metre, 2 mm, 3 micron; 0 "unknown" is taken as mm).
double mm_per_unit(int xyz_units) {
  switch (xyz_units) {
    case NIFTI_UNITS_METER:
      return 1000.0;
    case NIFTI_UNITS_MICRON:
      return 0.001;
    default:
      return 1.0;
  }
}

/// Refuses, before any allocation, dimensions whose product overflows or exceeds max_voxels, and
/// voxel bytes the file cannot hold: an uncompressed file must contain them, and deflate expands at
/// most 1032:1, so a gzipped file of n bytes holds at most 1032 n.
void check_voxel_count(const nifti_image& nim, const std::string& path, const std::string& dims,
                       const NiftiReadOptions& options) {
  if (nim.dim[0] < 1 || nim.dim[0] > 7)
    throw Error(path + " declares " + std::to_string(nim.dim[0]) + " dimensions; expected 1 to 7");
  int64_t voxels = 1;
  for (int d = 1; d <= nim.dim[0]; ++d) {
    if (nim.dim[d] < 1) throw Error(path + " has a dimension of " + std::to_string(nim.dim[d]) + "; expected >= 1");
    if (__builtin_mul_overflow(voxels, nim.dim[d], &voxels))
      throw Error(path + " declares " + dims + " voxels, a count that overflows 64 bits; expected at most " +
                  std::to_string(options.max_voxels));
  }
  if (voxels > options.max_voxels)
    throw Error(path + " declares " + dims + " = " + std::to_string(voxels) + " voxels; expected at most " +
                std::to_string(options.max_voxels) + " (NiftiReadOptions::max_voxels)");
  std::error_code ec;
  const auto file_size = fs::file_size(path, ec);
  // A .hdr/.img pair keeps its voxels in another file; load_voxels reports short data there.
  if (ec || nim.nbyper < 1 || !nim.iname || path != nim.iname) return;
  const bool gz = ends_with(path, ".gz");
  const uint64_t expansion = gz ? 1032 : 1;
  const uint64_t offset = nim.iname_offset > 0 ? static_cast<uint64_t>(nim.iname_offset) : 0;
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(voxels), static_cast<uint64_t>(nim.nbyper), &bytes) ||
      bytes > file_size * expansion || (!gz && offset + bytes > file_size))
    throw Error(path + " declares " + dims + " voxels of " + std::to_string(nim.nbyper) + " bytes (" +
                std::to_string(bytes) + " bytes), but the file has only " + std::to_string(file_size) + " bytes" +
                (gz ? " compressed (deflate expands at most 1032:1)" : ""));
}

/// Loads the voxels into nim.data. nifti_clib's nifti_image_load sets every NaN and infinite float
/// voxel to 0 without a word, so a damaged scan would be segmented as water: float images are read
/// here instead, as stored (byte-swapped as nifti_clib would), so that the pipeline sees those voxels
/// and can refuse them. Other types go through nifti_clib.
void load_voxels(nifti_image& nim, const std::string& path) {
  const auto damaged = [&] {
    return Error(path + " is not a readable NIfTI image (its voxel data is damaged or truncated)");
  };
  if (nim.datatype != NIFTI_TYPE_FLOAT32 && nim.datatype != NIFTI_TYPE_FLOAT64) {
    if (nifti_image_load(&nim) != 0 || !nim.data) throw damaged();
    return;
  }
  if (!nim.iname) throw damaged();
  const auto bytes = static_cast<size_t>(nifti_get_volsize(&nim));
  znzFile file = znzopen(nim.iname, "rb", nifti_is_gzfile(nim.iname));
  if (znz_isnull(file)) throw Error(path + ": cannot open " + nim.iname + " to read its voxels");
  // nifti_image_free releases nim.data with free().
  nim.data = std::calloc(bytes > 0 ? bytes : 1, 1);
  const bool read = nim.data && znzseek(file, static_cast<long>(nim.iname_offset), SEEK_SET) >= 0 &&
                    znzread(nim.data, 1, bytes, file) == bytes;
  znzclose(file);
  if (!read) throw damaged();
  if (nim.byteorder != nifti_short_order())
    nifti_swap_Nbytes(static_cast<int64_t>(bytes) / nim.nbyper, nim.nbyper, nim.data);
}

/// nibabel's shape_zoom_affine(shape, zooms, x_flip=True): the Analyze base affine.
at::Tensor analyze_base_affine(const std::array<int64_t, 3>& shape, const std::array<double, 3>& zooms) {
  auto affine = at::eye(4, at::kDouble);
  const double sign[3] = {-1.0, 1.0, 1.0};
  for (int a = 0; a < 3; ++a) {
    const double zoom = sign[a] * zooms[a];
    affine[a][a] = zoom;
    affine[a][3] = -(static_cast<double>(shape[a]) - 1.0) / 2.0 * zoom;
  }
  return affine;
}

/// A sform whose voxel sizes differ from pixdim is an inconsistent header: nibabel (and the NIfTI
/// standard) follow the sform, as this reader does, while MONAI's NibabelReader replaces it by the
/// qform when the qform's voxel sizes match pixdim. Said, so a user can fix the file.
void warn_if_sform_disagrees_with_pixdim(Volume& v, int sform_code, const NiftiGeometry& g, const std::string& path) {
  if (sform_code <= 0) return;
  const auto norms = spacing_of(g.sform);
  for (int a = 0; a < 3; ++a)
    if (std::abs(norms[a] - g.pixdim[a]) > 1e-5 + 1e-5 * std::abs(g.pixdim[a])) {
      v.warnings.push_back(path + ": the sform's voxel sizes (" + std::to_string(norms[0]) + ", " +
                           std::to_string(norms[1]) + ", " + std::to_string(norms[2]) + ") differ from pixdim (" +
                           std::to_string(g.pixdim[0]) + ", " + std::to_string(g.pixdim[1]) + ", " +
                           std::to_string(g.pixdim[2]) +
                           "); read by the sform, as nibabel does (MONAI's reader may use the qform instead)");
      return;
    }
}

at::Tensor voxels_to_tensor(const nifti_image& nim, const std::string& path) {
  const std::vector<int64_t> disk_shape = {nim.nz, nim.ny, nim.nx};  // x varies fastest on disk
  at::ScalarType type;
  switch (nim.datatype) {
    case NIFTI_TYPE_UINT8:
      type = at::kByte;
      break;
    case NIFTI_TYPE_INT8:
      type = at::kChar;
      break;
    case NIFTI_TYPE_INT16:
      type = at::kShort;
      break;
    case NIFTI_TYPE_INT32:
      type = at::kInt;
      break;
    case NIFTI_TYPE_INT64:
      type = at::kLong;
      break;
    case NIFTI_TYPE_FLOAT32:
      type = at::kFloat;
      break;
    case NIFTI_TYPE_FLOAT64:
      type = at::kDouble;
      break;
    case NIFTI_TYPE_UINT16: {
      // No uint16 in LibTorch 1.13: widen to int32.
      auto out = at::empty(disk_shape, at::kInt);
      const auto* src = static_cast<const uint16_t*>(nim.data);
      auto* dst = out.data_ptr<int32_t>();
      for (int64_t i = 0; i < out.numel(); ++i) dst[i] = src[i];
      return out.permute({2, 1, 0}).contiguous();
    }
    case NIFTI_TYPE_UINT32: {
      auto out = at::empty(disk_shape, at::kLong);
      const auto* src = static_cast<const uint32_t*>(nim.data);
      auto* dst = out.data_ptr<int64_t>();
      for (int64_t i = 0; i < out.numel(); ++i) dst[i] = src[i];
      return out.permute({2, 1, 0}).contiguous();
    }
    default:
      throw Error(path + ": voxel type " + nifti_datatype_string(nim.datatype) +
                  " is not supported; expected an integer or real floating-point type");
  }
  return at::from_blob(nim.data, disk_shape, type).permute({2, 1, 0}).contiguous();
}

int nifti_type_of(at::ScalarType type) {
  switch (type) {
    case at::kBool:
    case at::kByte:
      return NIFTI_TYPE_UINT8;
    case at::kChar:
      return NIFTI_TYPE_INT8;
    case at::kShort:
      return NIFTI_TYPE_INT16;
    case at::kInt:
      return NIFTI_TYPE_INT32;
    case at::kLong:
      return NIFTI_TYPE_INT64;
    case at::kFloat:
      return NIFTI_TYPE_FLOAT32;
    case at::kDouble:
      return NIFTI_TYPE_FLOAT64;
    default:
      return 0;
  }
}

/// Deflates what is written into `file` with a gzip wrapper (what .nii.gz readers expect), in
/// chunks: zlib counts in 32 bits, so a label map over 4 GiB is fed in pieces, every return code is
/// checked, and finish() checks that every byte went in.
class GzipStream {
 public:
  GzipStream(AtomicFile& file, std::string path) : file_(file), path_(std::move(path)) {
    // windowBits 15 + 16: gzip wrapper. Level 1, as nibabel writes .nii.gz: label maps are long runs
    // that it packs nearly as well as level 6, at several times the speed.
    if (deflateInit2(&zs_, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw Error("cannot compress " + path_ + ": zlib initialisation failed");
  }
  ~GzipStream() { deflateEnd(&zs_); }
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

  void write(const void* data, size_t size) {
    const auto* in = static_cast<const Bytef*>(data);
    while (size > 0) {
      const size_t chunk = std::min<size_t>(size, size_t{1} << 30);
      zs_.next_in = const_cast<Bytef*>(in);
      zs_.avail_in = static_cast<uInt>(chunk);
      run(Z_NO_FLUSH);
      if (zs_.avail_in != 0)
        throw Error("cannot compress " + path_ + ": zlib left " + std::to_string(zs_.avail_in) + " bytes unread");
      in += chunk;
      size -= chunk;
      consumed_ += chunk;
    }
  }

  void finish() {
    zs_.next_in = nullptr;
    zs_.avail_in = 0;
    run(Z_FINISH);
    if (static_cast<uint64_t>(zs_.total_in) != consumed_)
      throw Error("cannot compress " + path_ + ": zlib read " + std::to_string(zs_.total_in) + " of " +
                  std::to_string(consumed_) + " bytes");
  }

 private:
  void run(int flush) {
    int rc = Z_OK;
    do {
      zs_.next_out = buffer_.data();
      zs_.avail_out = static_cast<uInt>(buffer_.size());
      rc = deflate(&zs_, flush);
      // Z_BUF_ERROR only says no progress was possible in this call; anything else negative is fatal.
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
        throw Error("cannot compress " + path_ + ": zlib error " + std::to_string(rc));
      file_.write(buffer_.data(), buffer_.size() - zs_.avail_out);
    } while (zs_.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
  }

  AtomicFile& file_;
  std::string path_;
  z_stream zs_{};
  std::vector<unsigned char> buffer_ = std::vector<unsigned char>(size_t{1} << 20);
  uint64_t consumed_ = 0;
};

}  // namespace

Volume read_nifti(const std::string& path, const NiftiReadOptions& options) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": no such file (expected a NIfTI image .nii or .nii.gz)");
  if (fs::is_directory(path, ec)) throw Error(path + " is a folder, expected a NIfTI image file (.nii or .nii.gz)");
  if (!ends_with(path, ".nii") && !ends_with(path, ".nii.gz"))
    throw Error(path + ": expected a NIfTI file name ending in .nii or .nii.gz");
  const auto header = read_prefix(path, 544);
  const int version = nifti_magic_version(header);
  if (version == 0) throw Error(path + " is not a NIfTI image: its header has no NIfTI-1 or NIfTI-2 magic");
  check_raw_header(header, version, path);

  static std::once_flag quiet;
  std::call_once(quiet, [] { nifti_set_debug_level(0); });  // our errors say what went wrong
  // The header alone first: nifti_clib allocates whatever the dimensions declare, so a tiny
  // hostile file could ask for terabytes. check_voxel_count refuses that before the data is loaded.
  std::unique_ptr<nifti_image, void (*)(nifti_image*)> nim(nifti_image_read(path.c_str(), 0), nifti_image_free);
  if (!nim) throw Error(path + " is not a readable NIfTI image (its header is damaged or truncated)");

  std::string dims;
  for (int64_t d = 1; d <= nim->ndim && d <= 7; ++d) dims += (d > 1 ? " x " : "") + std::to_string(nim->dim[d]);
  check_voxel_count(*nim, path, dims, options);
  load_voxels(*nim, path);
  for (int d = 4; d <= 7 && d <= nim->dim[0]; ++d)
    if (nim->dim[d] > 1)
      throw Error(path + " is a " + std::to_string(nim->ndim) + "-D image (" + dims + "); expected a 3-D volume");
  if (nim->dim[0] < 3 || nim->nx < 2 || nim->ny < 2 || nim->nz < 2)
    throw Error(path + " is a 2-D image (" + dims + "); expected a 3-D volume with at least 2 voxels along each axis");

  Volume v;
  v.source = path;
  v.data = voxels_to_tensor(*nim, path);
  const double slope = nim->scl_slope, inter = nim->scl_inter;
  if (slope != 0 && std::isfinite(slope) && std::isfinite(inter) && !(slope == 1 && inter == 0))
    v.data = v.data.to(at::kFloat) * slope + inter;

  // nibabel (and so the official MONAI pipeline) reads a negative pixdim[1..3] as its absolute
  // value, with a warning; nifti_clib would build the qform with 1 mm instead.
  if (nim->dx < 0 || nim->dy < 0 || nim->dz < 0) {
    v.warnings.push_back(path + " has negative voxel sizes (pixdim " + std::to_string(nim->dx) + ", " +
                         std::to_string(nim->dy) + ", " + std::to_string(nim->dz) +
                         "); read as their absolute values, as nibabel does");
    nim->dx = std::fabs(nim->dx);
    nim->dy = std::fabs(nim->dy);
    nim->dz = std::fabs(nim->dz);
    if (nim->qform_code > 0)
      nim->qto_xyz = nifti_quatern_to_dmat44(nim->quatern_b, nim->quatern_c, nim->quatern_d, nim->qoffset_x,
                                             nim->qoffset_y, nim->qoffset_z, nim->dx, nim->dy, nim->dz, nim->qfac);
  }

  NiftiGeometry& g = v.geometry;
  g.version = version;
  g.qform_code = nim->qform_code;
  g.sform_code = nim->sform_code;
  g.qform = dmat44_to_tensor(nim->qto_xyz);  // nifti_clib makes it diag(pixdim) when qform_code is 0
  g.sform = dmat44_to_tensor(nim->sto_xyz);
  g.pixdim = {nim->dx, nim->dy, nim->dz};
  g.xyz_units = nim->xyz_units;
  g.time_units = nim->time_units;
  g.description = std::string(nim->descrip, strnlen(nim->descrip, sizeof nim->descrip));

  at::Tensor affine;
  if (g.sform_code > 0) {
    affine = g.sform.clone();
  } else if (g.qform_code > 0) {
    affine = g.qform.clone();
  } else {
    // No orientation recorded: nibabel's get_best_affine falls back to the Analyze base affine
    // (x flipped, the volume's centre at the origin), and so does the official MONAI pipeline.
    // nifti_clib's diag(pixdim) would show it the patient mirrored left/right.
    affine = analyze_base_affine({nim->nx, nim->ny, nim->nz}, g.pixdim);
    v.warnings.push_back(path +
                         " records no orientation (qform_code and sform_code are 0): read as nibabel and "
                         "MONAI read it, LAS with the volume's centre at the origin");
  }
  warn_if_sform_disagrees_with_pixdim(v, nim->sform_code, g, path);
  const double scale = mm_per_unit(g.xyz_units);
  if (scale != 1.0) affine.slice(0, 0, 3).mul_(scale);
  v.affine = affine;
  v.spacing = spacing_of(affine);
  return v;
}

void write_nifti(const std::string& path, const at::Tensor& data, const NiftiGeometry& geometry) {
  if (data.dim() != 3)
    throw Error(path + ": can only write 3-D images, got " + std::to_string(data.dim()) + " dimensions");
  const int datatype = nifti_type_of(data.scalar_type());
  if (datatype == 0) throw Error(path + ": cannot write voxel type " + std::string(c10::toString(data.scalar_type())));
  // Disk order: x fastest, so the (i, j, k) tensor is stored transposed.
  at::Tensor disk = data.to(at::kCPU)
                        .to(data.scalar_type() == at::kBool ? at::kByte : data.scalar_type())
                        .permute({2, 1, 0})
                        .contiguous();

  const int64_t dims[8] = {3, data.size(0), data.size(1), data.size(2), 1, 1, 1, 1};
  std::unique_ptr<nifti_image, void (*)(nifti_image*)> nim(nifti_make_new_nim(dims, datatype, 0), nifti_image_free);
  if (!nim) throw Error(path + ": cannot create a NIfTI header");
  nim->pixdim[1] = nim->dx = geometry.pixdim[0];
  nim->pixdim[2] = nim->dy = geometry.pixdim[1];
  nim->pixdim[3] = nim->dz = geometry.pixdim[2];
  nim->xyz_units = geometry.xyz_units;
  nim->time_units = geometry.time_units;
  nim->qform_code = geometry.qform_code;
  nim->sform_code = geometry.sform_code;
  if (geometry.qform.defined()) {
    nim->qto_xyz = tensor_to_dmat44(geometry.qform);
    double dx, dy, dz;
    nifti_dmat44_to_quatern(nim->qto_xyz, &nim->quatern_b, &nim->quatern_c, &nim->quatern_d, &nim->qoffset_x,
                            &nim->qoffset_y, &nim->qoffset_z, &dx, &dy, &dz, &nim->qfac);
  }
  if (geometry.sform.defined()) nim->sto_xyz = tensor_to_dmat44(geometry.sform);
  std::strncpy(nim->descrip, geometry.description.c_str(), sizeof nim->descrip - 1);
  nim->scl_slope = 1.0;
  nim->scl_inter = 0.0;

  const bool nifti2 = geometry.version == 2 || data.size(0) > 32767 || data.size(1) > 32767 || data.size(2) > 32767;
  std::vector<unsigned char> bytes;
  if (nifti2) {
    nifti_2_header hdr;
    nim->nifti_type = NIFTI_FTYPE_NIFTI2_1;
    nim->iname_offset = sizeof(nifti_2_header) + 4;
    if (nifti_convert_nim2n2hdr(nim.get(), &hdr) != 0) throw Error(path + ": cannot build a NIfTI-2 header");
    bytes.resize(sizeof hdr + 4, 0);  // 4 zero bytes: "no extensions"
    std::memcpy(bytes.data(), &hdr, sizeof hdr);
  } else {
    nifti_1_header hdr;
    nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
    nim->iname_offset = sizeof(nifti_1_header) + 4;
    if (nifti_convert_nim2n1hdr(nim.get(), &hdr) != 0) throw Error(path + ": cannot build a NIfTI-1 header");
    hdr.vox_offset = static_cast<float>(sizeof hdr + 4);
    bytes.resize(sizeof hdr + 4, 0);
    std::memcpy(bytes.data(), &hdr, sizeof hdr);
  }
  // Header and voxels are streamed into the file (compressed for .gz) without joining them in
  // memory: a whole-body label map is hundreds of MB, and sizes over 4 GiB must not be cut.
  const size_t data_size = static_cast<size_t>(disk.numel()) * disk.element_size();
  AtomicFile file(path);
  if (ends_with(path, ".gz")) {
    GzipStream gz(file, path);
    gz.write(bytes.data(), bytes.size());
    gz.write(disk.data_ptr(), data_size);
    gz.finish();
  } else {
    file.write(bytes.data(), bytes.size());
    file.write(disk.data_ptr(), data_size);
  }
  file.commit();
}

void write_nifti(const std::string& path, const Volume& volume) { write_nifti(path, volume.data, volume.geometry); }

}  // namespace swinsmt::io
