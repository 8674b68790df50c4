// The readers behind dataset_tool's CIFAR-10 source: the restricted pickle
// reader (data/archives/pickle_reader.h) and the tar lister (data/archives/tar_reader.h).
// Pickles written by Python 2, Python 3 and NumPy are checked end to end
// against Python's own pickle in tests/cli/dataset_tool.cmake; here, the
// opcodes one by one and what must be refused: code (a global other than
// NumPy's), cut data, arrays whose bytes do not fill their shape, tar
// headers that fail their checksum or run past the archive.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "engine/error.h"
#include "tests/testing.h"
#include "tests/zip_fixture.h"
#include "data/archives/pickle_reader.h"
#include "data/archives/tar_reader.h"
#include "data/archives/zip_reader.h"

using namespace gf;

namespace {

PyRef unpickle(const std::string& bytes) {
  return read_pickle(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "test.pkl");
}

// A literal's bytes, NULs included.
template <size_t N>
std::string raw(const char (&s)[N]) {
  return std::string(s, N - 1);
}

std::string error_of(const std::string& bytes) {
  try {
    unpickle(bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A ustar header for a regular file of `size` bytes, its checksum filled in.
std::vector<uint8_t> tar_header(const std::string& name, size_t size, char type = '0') {
  std::vector<uint8_t> h(512, 0);
  std::memcpy(h.data(), name.data(), std::min<size_t>(name.size(), 100));
  std::snprintf(reinterpret_cast<char*>(&h[124]), 12, "%011zo", size);
  h[156] = uint8_t(type);
  std::memcpy(&h[257], "ustar\0" "00", 8);
  unsigned sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : h[i];
  std::snprintf(reinterpret_cast<char*>(&h[148]), 8, "%06o", sum);
  return h;
}

void append_member(std::vector<uint8_t>& tar, const std::string& name, const std::string& body, char type = '0') {
  const std::vector<uint8_t> h = tar_header(name, body.size(), type);
  tar.insert(tar.end(), h.begin(), h.end());
  tar.insert(tar.end(), body.begin(), body.end());
  tar.resize((tar.size() + 511) / 512 * 512, 0);
}

}  // namespace

TEST_CASE("pickle reader: a protocol-2 dict of ints, floats, strings and a list, as Python writes it",
          "[archive_readers]") {
  // L = [1, -2, 300, 70000, 2**40, -129]; pickle.dumps({'a': L, 'b': 1.5, 'c': True, 'd': None, 'e': L}, protocol=2)
  const std::string p = std::string("\x80\x02}q\x00(X\x01\x00\x00\x00" "aq\x01]q\x02(K\x01J\xfe\xff\xff\xffM,\x01Jp\x11\x01\x00\x8a\x06\x00\x00\x00\x00\x00\x01J\x7f\xff\xff\xff" "eX\x01\x00\x00\x00" "bq\x03G\x3f\xf8\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00" "cq\x04\x88X\x01\x00\x00\x00" "dq\x05NX\x01\x00\x00\x00" "eq\x06h\x02u.", 94);
  const PyRef d = unpickle(p);
  REQUIRE(d->kind == PyValue::Kind::dict);
  const PyRef a = d->get("a");
  REQUIRE(a);
  REQUIRE(a->kind == PyValue::Kind::list);
  std::vector<int64_t> ints;
  for (const PyRef& x : a->items) ints.push_back(x->integer);
  CHECK(ints == std::vector<int64_t>{1, -2, 300, 70000, int64_t(1) << 40, -129});
  CHECK(d->get("b")->real == 1.5);
  CHECK(d->get("c")->kind == PyValue::Kind::boolean);
  CHECK(d->get("c")->integer == 1);
  CHECK(d->get("d")->kind == PyValue::Kind::none);
  CHECK(d->get("e") == a);  // BINGET: the same list
  CHECK_FALSE(d->get("zz"));
}

TEST_CASE("pickle reader: a NumPy array through _reconstruct, and one whose bytes do not fill its shape",
          "[archive_readers]") {
  // np.arange(6, dtype=np.uint8).reshape(2, 3) as Python 2's cPickle writes it (protocol 2,
  // tools/reference/dataset_tool_reference.py's py2_pickle); then with 3 of its 6 bytes.
  const PyRef a = unpickle(std::string("\x80\x02" "cnumpy.core.multiarray\x0a_reconstruct\x0aq\x01" "cnumpy\x0andarray\x0aq\x03K\x00\x85U\x01" "bq\x05\x87Rq\x06(K\x01K\x02K\x03\x86" "cnumpy\x0a" "dtype\x0aq\x07U\x02u1q\x09K\x00K\x01\x87Rq\x0a(K\x03U\x01|q\x0bNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89U\x06\x00\x01\x02\x03\x04\x05q\x0ctb.", 145));
  REQUIRE(a->kind == PyValue::Kind::ndarray);
  CHECK(a->str == "u1");
  CHECK(a->shape == std::vector<int64_t>{2, 3});
  CHECK_FALSE(a->fortran_order);
  CHECK(a->data == std::string("\x00\x01\x02\x03\x04\x05", 6));
  CHECK_THAT(error_of(std::string("\x80\x02" "cnumpy.core.multiarray\x0a_reconstruct\x0aq\x01" "cnumpy\x0andarray\x0aq\x03K\x00\x85U\x01" "bq\x05\x87Rq\x06(K\x01K\x02K\x03\x86" "cnumpy\x0a" "dtype\x0aq\x07U\x02u1q\x09K\x00K\x01\x87Rq\x0a(K\x03U\x01|q\x0bNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89U\x03\x00\x01\x02q\x0ctb.", 142)),
             Catch::Contains("a numpy array of 6 elements of u1 holds 3 bytes"));
}

TEST_CASE("pickle reader: runs no code, and names cut or unknown data", "[archive_readers]") {
  // An object whose __reduce__ is (os.system, ('true',)), pickled: refused before anything is called.
  CHECK_THAT(error_of(std::string("\x80\x02" "cposix\x0asystem\x0aq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.", 36)),
             Catch::Contains("refers to posix.system, which is not NumPy data"));
  CHECK_THAT(error_of(raw("\x80\x02]q\x00(K\x01K\x02")), Catch::Contains("ends before its STOP"));
  CHECK_THAT(error_of(raw("\x80\x02X\xff\x00\x00\x00ab.")), Catch::Contains("runs past the end of the data"));
  CHECK_THAT(error_of(raw("\x80\x02h\x07.")), Catch::Contains("memo entry 7 read before it was written"));
  CHECK_THAT(error_of(raw("\x80\x02K\x01K\x02.")), Catch::Contains("STOP with 2 values on the stack"));
  CHECK_THAT(error_of(raw("\x80\x02" "S'abc'\n.")), Catch::Contains("pickle opcode 0x53 at byte 2 is not supported"));
  CHECK_THAT(error_of(raw("")), Catch::Contains("test.pkl: the pickle ends before its STOP"));
}

TEST_CASE("tar lister: members by name (the last of a name wins), GNU long names, cut and corrupt archives",
          "[archive_readers]") {
  std::vector<uint8_t> tar;
  append_member(tar, "dir/a", "first");
  append_member(tar, "dir/b", std::string(600, 'b'));
  append_member(tar, "dir/a", "second");
  const std::string long_name = "cifar-10-batches-py/" + std::string(120, 'x');
  append_member(tar, "././@LongLink", long_name, 'L');
  append_member(tar, "cut-name", "long");
  append_member(tar, "dir/", "", '5');
  const size_t body_end = tar.size();
  tar.resize(tar.size() + 1024, 0);

  const auto members = list_tar(tar, "t.tar");
  REQUIRE(members.size() == 3);
  const TarMember a = members.at("dir/a");
  CHECK(std::string(tar.begin() + long(a.offset), tar.begin() + long(a.offset + a.size)) == "second");
  CHECK(members.at("dir/b").size == 600);
  CHECK(members.count(long_name) == 1);

  std::vector<uint8_t> corrupt = tar;
  // dir/a's second header (after dir/a's 2 blocks and dir/b's 3) at byte 2560: a byte of its name.
  corrupt[2560 + 10] ^= 1;
  CHECK_THROWS_WITH(list_tar(corrupt, "t.tar"), Catch::Contains("t.tar: a tar header at byte 2560 fails its checksum"));
  std::vector<uint8_t> cut(tar.begin(), tar.begin() + 512 + 3);  // dir/a's header and 3 of its 5 bytes
  CHECK_THROWS_WITH(list_tar(cut, "t.tar"), Catch::Contains("runs past the end (truncated archive?)"));
  std::vector<uint8_t> mid_header(tar.begin(), tar.begin() + long(body_end) + 100);
  CHECK_THROWS_WITH(list_tar(mid_header, "t.tar"), Catch::Contains("ends inside a header"));
}

// check_tar_start (a .tar.gz's head, checked before the rest is inflated)
// refuses what list_tar would refuse at the first block, with its words.
TEST_CASE("tar lister: an archive's first block checked alone, as list_tar checks it", "[archive_readers]") {
  std::vector<uint8_t> tar;
  append_member(tar, "dir/a", "first");
  auto error_at_start = [](const std::vector<uint8_t>& t, size_t n) {
    try {
      check_tar_start(t.data(), n, "t.tar");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("taken");
  };
  auto error_listing = [](const std::vector<uint8_t>& t) {
    try {
      list_tar(t, "t.tar");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("taken");
  };
  CHECK(error_at_start(tar, 512) == "taken");
  CHECK(error_at_start(std::vector<uint8_t>(512, 0), 512) == "taken");  // an empty archive's end block
  CHECK(error_at_start(tar, 0) == "taken");
  std::vector<uint8_t> corrupt = tar, cut(tar.begin(), tar.begin() + 100);
  corrupt[10] ^= 1;
  CHECK(error_at_start(corrupt, 512) == error_listing(corrupt));
  CHECK(error_at_start(corrupt, 512).find("fails its checksum") != std::string::npos);
  CHECK(error_at_start(cut, cut.size()) == error_listing(cut));
  // A checksum of signed bytes (old Sun tars), which Python's tarfile takes too: a name byte past 127.
  std::vector<uint8_t> sun;
  append_member(sun, "dir/\xe9t\xe9", "x");
  int sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : int8_t(sun[i]);
  std::snprintf(reinterpret_cast<char*>(&sun[148]), 8, "%06o", sum);
  CHECK(error_at_start(sun, 512) == "taken");
  CHECK(error_listing(sun) == "taken");
  CHECK(list_tar(sun, "t.tar").count("dir/\xe9t\xe9") == 1);
}

TEST_CASE("pickle reader: hostile pickles end in one error, not a crash, a hang or a wrapped size",
          "[archive_readers]") {
  // A tuple nested 200000 deep (1 byte a level): read, then freed without recursion.
  {
    const PyRef deep = unpickle("\x80\x02N" + std::string(200000, '\x85') + ".");
    CHECK(deep->kind == PyValue::Kind::tuple);
  }
  // A dict keeps a key's last value, as Python's.
  CHECK(unpickle(raw("\x80\x02}(X\x01\x00\x00\x00" "aK\x01X\x01\x00\x00\x00" "aK\x02u."))->get("a")->integer == 2);
  // The uint8 (2, 3) array of the test above as int64 of 2^61 elements and no bytes: 2^61 * 8 wraps to 0.
  const std::string array = raw("\x80\x02" "cnumpy.core.multiarray\n_reconstruct\nq\x01" "cnumpy\nndarray\nq\x03K\x00\x85U\x01"
                                "bq\x05\x87Rq\x06(K\x01\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x20\x85" "cnumpy\ndtype\nq\x07"
                                "U\x02i8q\x09K\x00K\x01\x87Rq\x0a(K\x03U\x01<q\x0bNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89"
                                "U\x00q\x0ctb.");
  CHECK_THAT(error_of(array), Catch::Contains("a numpy array of a bad shape") || Catch::Contains("holds 0 bytes"));
  std::string odd_dtype = array;
  odd_dtype.replace(odd_dtype.find("U\x02i8"), 4, "U\x03u99");
  CHECK_THAT(error_of(odd_dtype), Catch::Contains("a numpy array of dtype u99, which is not read"));
  // NumPy scalars (CIFAR's labels may be ones): numpy.core.multiarray.scalar(dtype(T), bytes).
  auto scalar = [](const std::string& type, const std::string& bytes) {
    return raw("\x80\x02" "cnumpy.core.multiarray\nscalar\n" "cnumpy\ndtype\n(U") + char(type.size()) + type +
           raw("K\x00K\x01tRU") + char(bytes.size()) + bytes + raw("\x86R.");
  };
  CHECK(unpickle(scalar("i2", raw("\xfe\xff")))->integer == -2);
  CHECK(unpickle(scalar("u1", raw("\xfe")))->integer == 254);
  // A type of no known size, with as many bytes (none) as that size: it was
  // read, shifting by -1 (undefined) to give 0. Refused, as an empty type.
  CHECK_THAT(error_of(scalar("i3", "")), Catch::Contains("numpy scalar of i3 (only little-endian integers are read)"));
  CHECK_THAT(error_of(scalar("", "")), Catch::Contains("numpy scalar of  (only little-endian integers are read)"));
  CHECK_THAT(error_of(raw("\x80\x02Np1x\n.")), Catch::Contains("a memo index '1x' that is not a number"));
  CHECK_THAT(error_of(raw("\x80\x02Ng99999999999999999999999\n.")), Catch::Contains("that is not a number"));
  // Megabytes of one-byte values (kilobytes gzipped in a CIFAR tarball) held
  // ~200 bytes each before the STOP: at most kMaxPickleValues values, pushes
  // and memo entries alike.
  CHECK_THAT(error_of("\x80\x02" + std::string(kMaxPickleValues + 1, 'N') + "."),
             Catch::Contains("test.pkl: more than 1048576 values"));
  CHECK_THAT(error_of(raw("\x80\x04N") + std::string(kMaxPickleValues, '\x94') + "."),
             Catch::Contains("test.pkl: more than 1048576 values"));
}

// One buffer of 1 MiB, memoized, built into arrays again and again (a
// 25 kB CIFAR tarball made 200,000 such arrays: gigabytes). Copies past
// twice the pickle's size and 1 MiB are refused; the same pickle with two
// arrays (a copy each, within the bound) is read.
TEST_CASE("pickle reader: one buffer built into many arrays is refused", "[archive_readers]") {
  const uint32_t size = 1 << 20;
  auto le32 = [](uint32_t v) { return std::string{char(v & 0xFF), char(v >> 8 & 0xFF), char(v >> 16 & 0xFF), char(v >> 24)}; };
  auto arrays = [&](int n) {
    std::string p = raw("\x80\x02" "cnumpy.core.multiarray\n_reconstruct\nq\x00" "cnumpy\nndarray\nK\x00\x85" "C\x01" "b\x87q\x01");
    p += raw("cnumpy\ndtype\nX\x02\x00\x00\x00" "u1\x85Rq\x02");              // memo 2: dtype u1
    p += "(K\x01J" + le32(size) + raw("\x85h\x02\x89" "B") + le32(size) + std::string(size, '\x07') + raw("tq\x03");  // memo 3: the state
    p += "0000]";  // the four values off the stack (kept in the memo), then a list
    for (int i = 0; i < n; ++i) p += raw("h\x00h\x01Rh\x03" "ba");  // _reconstruct(), BUILD with memo 3, append
    return p + ".";
  };
  const PyRef two = unpickle(arrays(2));
  REQUIRE(two->items.size() == 2);
  CHECK(two->items[1]->data == std::string(size, '\x07'));
  CHECK_THAT(error_of(arrays(8)), Catch::Contains("test.pkl: its arrays copy over") &&
                                      Catch::Contains("(one buffer built into many arrays)"));
}

TEST_CASE("tar lister: pax path records name the next member; a malformed record is refused", "[archive_readers]") {
  const std::string long_name = "cifar-10-batches-py/" + std::string(150, 'p');
  const std::string record = "path=" + long_name + "\n";
  // "<len> path=...\n", <len> counting its own digits.
  std::string pax = std::to_string(record.size() + 4) + " " + record;
  REQUIRE(pax.size() == record.size() + 4);
  std::vector<uint8_t> tar;
  append_member(tar, "PaxHeaders/x", pax, 'x');
  append_member(tar, "short-name", "body");
  tar.resize(tar.size() + 1024, 0);
  const auto members = list_tar(tar, "t.tar");
  REQUIRE(members.size() == 1);
  CHECK(members.count(long_name) == 1);

  for (const std::string bad : {"6 x=y\n-6 z\n", "99 path=a\n", "5 a=b\n", "x path=a\n"}) {
    std::vector<uint8_t> t;
    append_member(t, "PaxHeaders/x", bad, 'x');
    append_member(t, "a", "b");
    CHECK_THROWS_WITH(list_tar(t, "t.tar"), Catch::Contains("a pax header's record is malformed"));
  }
}

// tar_end_so_far: the end block found as the bytes come, the walk resumed
// where it stopped; no end before it is whole; a bad header gives up.
TEST_CASE("tar lister: the archive's end found as its bytes are decoded", "[archive_readers]") {
  std::vector<uint8_t> tar;
  append_member(tar, "dir/a", "first");
  append_member(tar, "dir/b", std::string(1500, 'b'));  // 3 blocks of data
  const size_t end_block = tar.size();
  tar.resize(tar.size() + 10240, 0);  // the end block, then a record's zero padding
  size_t pos = 0;
  size_t found = 0, at = 0;
  for (size_t n = 0; n <= tar.size() && found == 0; n += 100) {
    found = tar_end_so_far(tar.data(), n, &pos, "t.tar");
    at = n;
  }
  CHECK(found == end_block + 512);
  CHECK(at >= end_block + 512);
  CHECK(at < end_block + 612);
  pos = 0;
  CHECK(tar_end_so_far(tar.data(), end_block + 511, &pos, "t.tar") == 0);
  CHECK(pos == end_block);  // dir/a's 2 blocks and dir/b's 4 walked
  std::vector<uint8_t> corrupt = tar;
  corrupt[1024 + 3] ^= 1;  // dir/b's header
  pos = 0;
  CHECK(tar_end_so_far(corrupt.data(), corrupt.size(), &pos, "t.tar") == 0);
  CHECK(tar_end_so_far(corrupt.data(), corrupt.size(), &pos, "t.tar") == 0);
}

// A .tar.gz is read as Python's tarfile reads it: nothing after the archive's
// end block is decoded, so bytes after the gzip stream and a cut or damaged
// stream past the end block do not matter (read_gzip_file's whole_length).
TEST_CASE("tar.gz: nothing past the archive's end block is decoded", "[archive_readers]") {
  std::vector<uint8_t> tar;
  append_member(tar, "dir/a", "first");
  const size_t end = tar.size() + 512;
  tar.resize(end + (size_t(32) << 20), 0);  // the end block, then 32 MiB more zeros in the stream
  const std::string gz = test::deflate_bytes(std::string(tar.begin(), tar.end()), 6, 15 + 16);
  test::TempDir dir("tar_gz_end");
  const std::string path = dir / "a.tar.gz";
  const auto read = [&](const std::string& bytes, bool to_end) {
    std::ofstream(path, std::ios::binary) << bytes;
    size_t pos = 0;
    const auto whole = [&pos, &path](const uint8_t* d, size_t n) { return tar_end_so_far(d, n, &pos, path); };
    try {
      const std::vector<uint8_t> out = to_end ? read_gzip_file(path, {}, whole) : read_gzip_file(path);
      return std::to_string(out.size());
    } catch (const Error& e) {
      return std::string(e.what());
    }
  };
  const std::string html = "<html>404</html>";
  const std::string cut = gz.substr(0, gz.size() - 20);
  std::string damaged = gz;
  damaged[damaged.size() - 4] ^= 1;  // the trailer's size
  CHECK(read(gz, true) == std::to_string(end));
  CHECK(read(gz + html, true) == std::to_string(end));
  CHECK(read(cut, true) == std::to_string(end));
  CHECK(read(damaged, true) == std::to_string(end));
  // Read to its end, the same files: the whole stream, or refused.
  CHECK(read(gz, false) == std::to_string(tar.size()));
  CHECK(read(gz + html, false).find("no gzip member (corrupt or appended data)") != std::string::npos);
  CHECK(read(cut, false).find("truncated gzip file") != std::string::npos);
  CHECK(read(damaged, false).find("its size check fails") != std::string::npos);
  // Where the end block is not in the data, the stream is read to its end and checked as before.
  std::vector<uint8_t> open_tar;
  append_member(open_tar, "dir/a", "first");
  const std::string open_gz = test::deflate_bytes(std::string(open_tar.begin(), open_tar.end()), 6, 15 + 16);
  CHECK(read(open_gz, true) == std::to_string(open_tar.size()));
  CHECK(read(open_gz.substr(0, open_gz.size() - 3), true).find("truncated gzip file") != std::string::npos);
}
