// tags.cc — media_tags_read() over TagLib 1.13's C++ API; the one C++ file in tonearm.
//
// Why C++ at all: TagLib's C binding (and FFmpeg's metadata) give one string per field and no
// pictures, MusicBrainz ids or ISRC (see notes/TAGS.md). File::properties() (a PropertyMap of
// string lists) has them all, so this file turns each tag of a file into a map of cleaned
// value lists, merges the tags of one file in priority order, and copies the result into the
// plain C struct of tags.h. No exception crosses the C boundary: media_tags_read catches all.
#include <aifffile.h>
#include <apefile.h>
#include <apetag.h>
#include <attachedpictureframe.h>
#include <flacfile.h>
#include <flacpicture.h>
#include <id3v1tag.h>
#include <id3v2tag.h>
#include <infotag.h>
#include <mp4file.h>
#include <mp4tag.h>
#include <mpegfile.h>
#include <oggflacfile.h>
#include <opusfile.h>
#include <speexfile.h>
#include <tdebuglistener.h>
#include <tfilestream.h>
#include <tpropertymap.h>
#include <vorbisfile.h>
#include <wavfile.h>
#include <xiphcomment.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <sys/stat.h>
#include <vector>

extern "C" {
#include "base/log.h"
#include "base/utf8.h"
}
#include "media/tags.h"

namespace {

using Values = std::vector<std::string>;
using Fields = std::map<std::string, Values>;

// TagLib reports oddities it survives on stderr; route them to our debug log instead, so a
// hostile file cannot spray the server's stderr.
class QuietListener : public TagLib::DebugListener {
public:
	void printMessage(const TagLib::String &msg) override
	{
		if (log_enabled(LOG_DEBUG))
			log_debug("taglib: %s", msg.to8Bit(true).c_str());
	}
};

// ID3v1 and RIFF INFO have no encoding field: the standard says Latin-1, but many writers
// (ffmpeg's WAV muxer among them) put UTF-8 there. Bytes that are valid UTF-8 with a non-ASCII
// character are almost never meant as Latin-1, so take them as UTF-8, else as Latin-1.
TagLib::String utf8_or_latin1(const TagLib::ByteVector &raw)
{
	TagLib::ByteVector data = raw;
	int nul = data.find('\0');
	if (nul >= 0)
		data.resize((unsigned)nul);
	bool utf8 = utf8_valid(data.data(), data.size());
	return TagLib::String(data, utf8 ? TagLib::String::UTF8 : TagLib::String::Latin1).stripWhiteSpace();
}

class Id3v1Strings : public TagLib::ID3v1::StringHandler {
public:
	TagLib::String parse(const TagLib::ByteVector &data) const override { return utf8_or_latin1(data); }
};

class InfoStrings : public TagLib::RIFF::Info::StringHandler {
public:
	TagLib::String parse(const TagLib::ByteVector &data) const override { return utf8_or_latin1(data); }
};

// TagLib's hooks are process-wide; set them once, before the first read.
void init_taglib()
{
	static std::once_flag once;
	static QuietListener listener;
	static Id3v1Strings id3v1;
	static InfoStrings info;
	std::call_once(once, [] {
		TagLib::setDebugListener(&listener);
		TagLib::ID3v1::Tag::setStringHandler(&id3v1);
		TagLib::RIFF::Info::Tag::setStringHandler(&info);
	});
}

bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// A tag value as we keep it: valid UTF-8 (NUL and invalid sequences become U+FFFD), without
// surrounding white space or stray byte-order marks, empty when missing or too long.
std::string clean(const TagLib::String &s)
{
	if (s.isEmpty() || s.size() > MEDIA_TAGS_TEXT_MAX) // size() counts UTF-16 units ≤ bytes
		return {};
	const std::string raw = s.to8Bit(true);
	size_t need = utf8_sanitize(nullptr, 0, raw.data(), raw.size());
	if (need > MEDIA_TAGS_TEXT_MAX)
		return {};
	std::string out(need + 1, '\0');
	utf8_sanitize(&out[0], out.size(), raw.data(), raw.size());
	out.resize(need);

	static const char bom[] = "\xef\xbb\xbf";
	size_t b = 0, e = out.size();
	for (;;) {
		if (b < e && is_space((unsigned char)out[b]))
			b++;
		else if (e - b >= 3 && out.compare(b, 3, bom) == 0)
			b += 3;
		else
			break;
	}
	for (;;) {
		if (e > b && is_space((unsigned char)out[e - 1]))
			e--;
		else if (e - b >= 3 && out.compare(e - 3, 3, bom) == 0)
			e -= 3;
		else
			break;
	}
	return out.substr(b, e - b);
}

void add_value(Values &list, std::string v)
{
	if (v.empty() || list.size() >= MEDIA_TAGS_MAX_VALUES)
		return;
	if (std::find(list.begin(), list.end(), v) != list.end())
		return;
	list.push_back(std::move(v));
}

// Merge one tag's properties under those already found: a key the earlier (higher-priority)
// tags filled stays as it is; a key they lack or left empty comes from this tag.
void merge(Fields &fields, const TagLib::PropertyMap &props)
{
	for (const auto &kv : props) {
		std::string key = kv.first.upper().to8Bit(true);
		Values &have = fields[key];
		if (!have.empty())
			continue;
		for (const auto &v : kv.second)
			add_value(have, clean(v));
	}
}

const Values *get(const Fields &f, const char *key)
{
	auto it = f.find(key);
	return it == f.end() || it->second.empty() ? nullptr : &it->second;
}

// The first of `keys` that has a value.
const Values *first_of(const Fields &f, std::initializer_list<const char *> keys)
{
	for (const char *k : keys)
		if (const Values *v = get(f, k))
			return v;
	return nullptr;
}

// A whole string as a decimal number in 1..MEDIA_TAGS_NUMBER_MAX; 0 otherwise.
int parse_count(const std::string &s)
{
	size_t b = 0, e = s.size();
	while (b < e && is_space((unsigned char)s[b]))
		b++;
	while (e > b && is_space((unsigned char)s[e - 1]))
		e--;
	if (b == e || e - b > 9)
		return 0;
	int n = 0;
	auto r = std::from_chars(s.data() + b, s.data() + e, n);
	if (r.ec != std::errc() || r.ptr != s.data() + e)
		return 0;
	return n >= 1 && n <= MEDIA_TAGS_NUMBER_MAX ? n : 0;
}

// "3", "3/12", "03 / 12" → number and total (0 when unknown or absurd).
void parse_pair(const std::string &s, int *num, int *total)
{
	size_t slash = s.find('/');
	*num = parse_count(s.substr(0, slash));
	*total = slash == std::string::npos ? 0 : parse_count(s.substr(slash + 1));
}

// A decimal number with an optional sign, then optionally white space and `unit`
// (case-insensitive), and nothing else. "-6.50 dB", "+1.2", "0.988".
bool parse_double(const std::string &s, const char *unit, double lo, double hi, double *out)
{
	const char *p = s.c_str(), *end = p + s.size();
	if (p < end && *p == '+')
		p++;
	if (p < end && *p == '+')
		return false;
	double d = 0;
	auto r = std::from_chars(p, end, d);
	if (r.ec != std::errc())
		return false;
	p = r.ptr;
	while (p < end && is_space((unsigned char)*p))
		p++;
	if (p < end && unit) {
		size_t n = strlen(unit);
		if ((size_t)(end - p) != n || strncasecmp(p, unit, n) != 0)
			return false;
		p = end;
	}
	if (p != end || !(d >= lo && d <= hi))
		return false;
	*out = d;
	return true;
}

// The year of "2019", "2019-03-01", "2019-03-01T10:00", "03/01/2019": the first run of
// exactly four digits. 0 when there is none.
int parse_year(const std::string &s)
{
	for (size_t i = 0; i < s.size();) {
		if (s[i] < '0' || s[i] > '9') {
			i++;
			continue;
		}
		size_t j = i;
		while (j < s.size() && s[j] >= '0' && s[j] <= '9')
			j++;
		if (j - i == 4) {
			int y = (s[i] - '0') * 1000 + (s[i + 1] - '0') * 100 + (s[i + 2] - '0') * 10 + (s[i + 3] - '0');
			return y > 0 ? y : 0;
		}
		i = j;
	}
	return 0;
}

bool parse_bool(const std::string &s)
{
	return s == "1" || strcasecmp(s.c_str(), "true") == 0 || strcasecmp(s.c_str(), "yes") == 0;
}

// MusicBrainz ids are UUIDs, so a separator inside a value can only be a join of several ids
// (ID3v2.3 writers join lists with '/', some use ';').
Values split_ids(const Values *in)
{
	Values out;
	if (!in)
		return out;
	for (const auto &v : *in) {
		size_t b = 0;
		while (b <= v.size()) {
			size_t e = v.find_first_of("/;,", b);
			if (e == std::string::npos)
				e = v.size();
			size_t s = b, t = e;
			while (s < t && is_space((unsigned char)v[s]))
				s++;
			while (t > s && is_space((unsigned char)v[t - 1]))
				t--;
			add_value(out, v.substr(s, t - s));
			b = e + 1;
		}
	}
	return out;
}

// ---- pictures ------------------------------------------------------------------------

struct Picture {
	TagLib::ByteVector data;
	std::string mime; // as tagged (or from the MP4 format code)
	int type;
};

struct Pictures {
	std::vector<Picture> list;

	void add(const TagLib::ByteVector &data, const TagLib::String &mime, int type)
	{
		if (data.isEmpty() || data.size() > MEDIA_TAGS_PICTURE_MAX)
			return; // nothing, or more than any cover needs: skipped, not copied
		if (mime == "-->")
			return; // an ID3v2 link to an image elsewhere, not an image
		list.push_back({ data, clean(mime), type });
	}

	const Picture *best() const
	{
		for (const auto &p : list)
			if (p.type == MEDIA_PICTURE_FRONT_COVER)
				return &p;
		return list.empty() ? nullptr : &list.front();
	}
};

void pictures_id3v2(Pictures &pics, TagLib::ID3v2::Tag *tag)
{
	if (!tag)
		return;
	for (auto *frame : tag->frameListMap()["APIC"]) {
		auto *apic = dynamic_cast<TagLib::ID3v2::AttachedPictureFrame *>(frame);
		if (apic)
			pics.add(apic->picture(), apic->mimeType(), apic->type());
	}
}

void pictures_flac(Pictures &pics, const TagLib::List<TagLib::FLAC::Picture *> &list)
{
	for (auto *p : list)
		if (p)
			pics.add(p->data(), p->mimeType(), p->type());
}

// TagLib 1.13 maps only some freeform atoms (MusicBrainz ids, ISRC, LABEL, ARTISTS …) into
// its PropertyMap; the others ("----:com.apple.iTunes:replaygain_track_gain" …) come out as
// unsupported. Name those by the part after the last ':', as the other formats do.
void add_mp4_freeform(Fields &fields, TagLib::MP4::Tag *tag)
{
	if (!tag)
		return;
	TagLib::PropertyMap extra;
	const TagLib::PropertyMap props = tag->properties(); // unsupportedData() refers into it
	for (const auto &key : props.unsupportedData()) {
		if (!key.startsWith("----:"))
			continue;
		int colon = key.rfind(":");
		TagLib::String name = key.substr((unsigned)colon + 1).upper();
		TagLib::MP4::Item item = tag->item(key);
		TagLib::StringList values = item.toStringList();
		if (values.isEmpty()) // stored as binary data: read it as UTF-8 text
			for (const auto &bv : item.toByteVectorList())
				values.append(TagLib::String(bv, TagLib::String::UTF8));
		if (!name.isEmpty() && !values.isEmpty() && !extra.contains(name))
			extra.insert(name, values);
	}
	merge(fields, extra);
}

void pictures_mp4(Pictures &pics, TagLib::MP4::Tag *tag)
{
	if (!tag || !tag->contains("covr"))
		return;
	const TagLib::MP4::CoverArtList covers = tag->item("covr").toCoverArtList();
	for (const auto &art : covers) {
		const char *mime = "";
		switch (art.format()) {
		case TagLib::MP4::CoverArt::JPEG: mime = "image/jpeg"; break;
		case TagLib::MP4::CoverArt::PNG: mime = "image/png"; break;
		case TagLib::MP4::CoverArt::GIF: mime = "image/gif"; break;
		case TagLib::MP4::CoverArt::BMP: mime = "image/bmp"; break;
		default: break;
		}
		pics.add(art.data(), mime, MEDIA_PICTURE_FRONT_COVER); // covr has no picture type
	}
}

// APEv2 "Cover Art (Front)" and friends: a binary item holding "file name\0image bytes".
void pictures_ape(Pictures &pics, TagLib::APE::Tag *tag)
{
	if (!tag)
		return;
	for (const auto &kv : tag->itemListMap()) {
		if (!kv.first.upper().startsWith("COVER ART") || kv.second.type() != TagLib::APE::Item::Binary)
			continue;
		TagLib::ByteVector bin = kv.second.binaryData();
		int at = bin.find('\0');
		if (at < 0)
			continue;
		int type = kv.first.upper() == "COVER ART (FRONT)" ? MEDIA_PICTURE_FRONT_COVER
		         : kv.first.upper() == "COVER ART (BACK)" ? MEDIA_PICTURE_BACK_COVER
		                                                   : MEDIA_PICTURE_OTHER;
		pics.add(bin.mid((unsigned)at + 1), "", type);
	}
}

// The image format from its first bytes; tags often name the wrong one.
const char *sniff_image(const TagLib::ByteVector &d)
{
	const unsigned char *p = reinterpret_cast<const unsigned char *>(d.data());
	size_t n = d.size();
	if (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
		return "image/jpeg";
	if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "image/png";
	if (n >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
		return "image/gif";
	if (n >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
		return "image/webp";
	if (n >= 2 && p[0] == 'B' && p[1] == 'M')
		return "image/bmp";
	return nullptr;
}

// A tagged MIME type we can repeat: "type/subtype" of lower-case token characters.
bool plausible_mime(const std::string &m)
{
	if (m.empty() || m.size() >= sizeof(((struct media_picture *)nullptr)->mime))
		return false;
	size_t slashes = 0;
	for (char c : m) {
		if (c == '/')
			slashes++;
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '-'))
			return false;
	}
	return slashes == 1 && m.front() != '/' && m.back() != '/';
}

// ---- opening the file ------------------------------------------------------------------

enum class Kind { Unknown, Mpeg, Flac, Mp4, Vorbis, Opus, OggFlac, Speex, Wav, Aiff, Ape };

// What the first bytes say. An ID3v2 tag in front is skipped, since FLAC may carry one too.
Kind sniff(TagLib::FileStream &s)
{
	s.seek(0);
	TagLib::ByteVector head = s.readBlock(64);
	long skip = 0;
	if (head.size() >= 10 && head.startsWith("ID3")) {
		const unsigned char *h = reinterpret_cast<const unsigned char *>(head.data());
		if ((h[6] | h[7] | h[8] | h[9]) & 0x80)
			return Kind::Mpeg; // not syncsafe: a broken tag; let the MPEG reader cope
		skip = 10 + ((long)h[6] << 21 | (long)h[7] << 14 | (long)h[8] << 7 | (long)h[9]) + ((h[5] & 0x10) ? 10 : 0);
		if (skip >= s.length())
			return Kind::Mpeg;
		s.seek(skip);
		head = s.readBlock(64);
		if (head.startsWith("fLaC"))
			return Kind::Flac;
		return Kind::Mpeg;
	}
	if (head.startsWith("fLaC"))
		return Kind::Flac;
	if (head.startsWith("OggS")) {
		if (head.find("OpusHead") >= 0)
			return Kind::Opus;
		if (head.find("\x01vorbis") >= 0)
			return Kind::Vorbis;
		if (head.find("\x7f" "FLAC") >= 0)
			return Kind::OggFlac;
		if (head.find("Speex   ") >= 0)
			return Kind::Speex;
		return Kind::Unknown;
	}
	if (head.size() >= 12 && head.startsWith("RIFF") && head.mid(8, 4) == "WAVE")
		return Kind::Wav;
	if (head.size() >= 12 && head.startsWith("FORM") && (head.mid(8, 4) == "AIFF" || head.mid(8, 4) == "AIFC"))
		return Kind::Aiff;
	if (head.size() >= 8 && head.mid(4, 4) == "ftyp")
		return Kind::Mp4;
	if (head.startsWith("MAC "))
		return Kind::Ape;
	if (head.size() >= 2) {
		const unsigned char *h = reinterpret_cast<const unsigned char *>(head.data());
		// MPEG audio frame sync with a layer (ADTS AAC has layer 0 and is not MPEG audio)
		if (h[0] == 0xff && (h[1] & 0xe0) == 0xe0 && (h[1] & 0x06) != 0)
			return Kind::Mpeg;
	}
	return Kind::Unknown;
}

Kind by_extension(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash : path, '.');
	if (!dot)
		return Kind::Unknown;
	static const struct { const char *ext; Kind kind; } table[] = {
		{ "mp3", Kind::Mpeg }, { "mp2", Kind::Mpeg }, { "mpga", Kind::Mpeg },
		{ "flac", Kind::Flac }, { "m4a", Kind::Mp4 }, { "m4b", Kind::Mp4 }, { "mp4", Kind::Mp4 },
		{ "ogg", Kind::Vorbis }, { "oga", Kind::Vorbis }, { "opus", Kind::Opus },
		{ "spx", Kind::Speex }, { "wav", Kind::Wav }, { "aif", Kind::Aiff },
		{ "aiff", Kind::Aiff }, { "aifc", Kind::Aiff }, { "ape", Kind::Ape },
	};
	for (const auto &t : table)
		if (strcasecmp(dot + 1, t.ext) == 0)
			return t.kind;
	return Kind::Unknown;
}

// The tags of one file in priority order, and its pictures.
struct Read {
	std::unique_ptr<TagLib::File> file;
	Fields fields;
	Pictures pics;
};

// Called with the tag's own type: TagLib 1.13's properties() is not virtual, each tag class
// declares its own.
template <class T> void add_tag(Read &r, T *tag)
{
	if (tag)
		merge(r.fields, tag->properties());
}

// Open `s` as `kind` and gather its tags. false when TagLib does not take it as that format.
bool read_as(Kind kind, TagLib::FileStream &s, Read &r, bool props)
{
	s.seek(0);
	s.clear();
	switch (kind) {
	case Kind::Mpeg: {
		auto *f = new TagLib::MPEG::File(&s, TagLib::ID3v2::FrameFactory::instance(), props);
		r.file.reset(f);
		if (!f->isValid())
			return false;
		// Neither a tag nor one audio frame: not an MP3, whatever its name says.
		if (!f->hasID3v2Tag() && !f->hasAPETag() && !f->hasID3v1Tag() && f->firstFrameOffset() < 0)
			return false;
		add_tag(r, f->hasID3v2Tag() ? f->ID3v2Tag() : nullptr);
		add_tag(r, f->hasAPETag() ? f->APETag() : nullptr);
		add_tag(r, f->hasID3v1Tag() ? f->ID3v1Tag() : nullptr);
		pictures_id3v2(r.pics, f->hasID3v2Tag() ? f->ID3v2Tag() : nullptr);
		pictures_ape(r.pics, f->hasAPETag() ? f->APETag() : nullptr);
		return true;
	}
	case Kind::Flac: {
		auto *f = new TagLib::FLAC::File(&s, TagLib::ID3v2::FrameFactory::instance(), props);
		r.file.reset(f);
		if (!f->isValid())
			return false;
		add_tag(r, f->hasXiphComment() ? f->xiphComment() : nullptr);
		add_tag(r, f->hasID3v2Tag() ? f->ID3v2Tag() : nullptr);
		add_tag(r, f->hasID3v1Tag() ? f->ID3v1Tag() : nullptr);
		pictures_flac(r.pics, f->pictureList());
		if (f->hasXiphComment())
			pictures_flac(r.pics, f->xiphComment()->pictureList());
		pictures_id3v2(r.pics, f->hasID3v2Tag() ? f->ID3v2Tag() : nullptr);
		return true;
	}
	case Kind::Mp4: {
		auto *f = new TagLib::MP4::File(&s, props);
		r.file.reset(f);
		if (!f->isValid())
			return false;
		add_tag(r, f->tag());
		add_mp4_freeform(r.fields, f->tag());
		pictures_mp4(r.pics, f->tag());
		return true;
	}
	case Kind::Vorbis:
	case Kind::Opus:
	case Kind::OggFlac:
	case Kind::Speex: {
		TagLib::Ogg::XiphComment *x = nullptr;
		if (kind == Kind::Vorbis) {
			auto *f = new TagLib::Ogg::Vorbis::File(&s, props);
			r.file.reset(f);
			x = f->tag();
		} else if (kind == Kind::Opus) {
			auto *f = new TagLib::Ogg::Opus::File(&s, props);
			r.file.reset(f);
			x = f->tag();
		} else if (kind == Kind::OggFlac) {
			auto *f = new TagLib::Ogg::FLAC::File(&s, props);
			r.file.reset(f);
			x = f->tag();
		} else {
			auto *f = new TagLib::Ogg::Speex::File(&s, props);
			r.file.reset(f);
			x = f->tag();
		}
		if (!r.file->isValid())
			return false;
		add_tag(r, x);
		if (x)
			pictures_flac(r.pics, x->pictureList());
		return true;
	}
	case Kind::Wav: {
		auto *f = new TagLib::RIFF::WAV::File(&s, props);
		r.file.reset(f);
		if (!f->isValid())
			return false;
		add_tag(r, f->hasID3v2Tag() ? f->ID3v2Tag() : nullptr);
		add_tag(r, f->hasInfoTag() ? f->InfoTag() : nullptr);
		pictures_id3v2(r.pics, f->hasID3v2Tag() ? f->ID3v2Tag() : nullptr);
		return true;
	}
	case Kind::Aiff: {
		auto *f = new TagLib::RIFF::AIFF::File(&s, props);
		r.file.reset(f);
		if (!f->isValid())
			return false;
		add_tag(r, f->hasID3v2Tag() ? f->tag() : nullptr);
		pictures_id3v2(r.pics, f->hasID3v2Tag() ? f->tag() : nullptr);
		return true;
	}
	case Kind::Ape: {
		auto *f = new TagLib::APE::File(&s, props);
		r.file.reset(f);
		if (!f->isValid())
			return false;
		add_tag(r, f->hasAPETag() ? f->APETag() : nullptr);
		add_tag(r, f->hasID3v1Tag() ? f->ID3v1Tag() : nullptr);
		pictures_ape(r.pics, f->hasAPETag() ? f->APETag() : nullptr);
		return true;
	}
	case Kind::Unknown:
		break;
	}
	return false;
}

// ---- into the C struct -----------------------------------------------------------------

char *dup(const std::string &s)
{
	char *p = static_cast<char *>(malloc(s.size() + 1));
	if (!p)
		throw std::bad_alloc();
	memcpy(p, s.data(), s.size());
	p[s.size()] = '\0';
	return p;
}

char *dup_first(const Values *v)
{
	return v ? dup(v->front()) : nullptr;
}

void dup_list(const Values *v, char **out, size_t *n)
{
	*n = 0;
	if (!v)
		return;
	for (const auto &s : *v) {
		if (*n >= MEDIA_TAGS_MAX_VALUES)
			break;
		out[*n] = dup(s);
		(*n)++;
	}
}

void fill(const Read &r, struct media_tags *t)
{
	const Fields &f = r.fields;

	t->title = dup_first(get(f, "TITLE"));
	dup_list(first_of(f, { "ARTISTS", "ARTIST" }), t->artists, &t->nartists);
	t->album = dup_first(get(f, "ALBUM"));
	dup_list(first_of(f, { "ALBUMARTISTS", "ALBUMARTIST", "ALBUM ARTIST" }), t->album_artists, &t->nalbum_artists);
	if (const Values *v = get(f, "COMPILATION"))
		t->compilation = parse_bool(v->front());

	int n = 0, total = 0;
	if (const Values *v = get(f, "TRACKNUMBER")) {
		parse_pair(v->front(), &n, &total);
		t->track = n;
		t->track_total = total;
	}
	if (const Values *v = first_of(f, { "TRACKTOTAL", "TOTALTRACKS" }); v && !t->track_total)
		t->track_total = parse_count(v->front());
	if (const Values *v = get(f, "DISCNUMBER")) {
		parse_pair(v->front(), &n, &total);
		t->disc = n;
		t->disc_total = total;
	}
	if (const Values *v = first_of(f, { "DISCTOTAL", "TOTALDISCS" }); v && !t->disc_total)
		t->disc_total = parse_count(v->front());

	if (const Values *v = first_of(f, { "DATE", "YEAR", "ORIGINALDATE" })) {
		t->date = dup(v->front());
		t->year = parse_year(v->front());
	}
	dup_list(get(f, "GENRE"), t->genres, &t->ngenres);
	dup_list(get(f, "COMPOSER"), t->composers, &t->ncomposers);
	t->isrc = dup_first(get(f, "ISRC"));
	t->label = dup_first(first_of(f, { "LABEL", "PUBLISHER", "ORGANIZATION" }));
	if (const Values *v = get(f, "BPM")) {
		double bpm = 0;
		if (parse_double(v->front(), nullptr, 1, 999, &bpm))
			t->bpm = bpm;
	}

	const Values *lyrics = first_of(f, { "LYRICS", "UNSYNCEDLYRICS" });
	if (!lyrics) // ID3v2 USLT with a description is "LYRICS:<description>"
		for (const auto &kv : f)
			if (kv.first.compare(0, 7, "LYRICS:") == 0 && !kv.second.empty()) {
				lyrics = &kv.second;
				break;
			}
	t->lyrics = dup_first(lyrics);

	t->mb_recording_id = dup_first(get(f, "MUSICBRAINZ_TRACKID"));
	t->mb_release_id = dup_first(get(f, "MUSICBRAINZ_ALBUMID"));
	Values ids = split_ids(get(f, "MUSICBRAINZ_ARTISTID"));
	dup_list(ids.empty() ? nullptr : &ids, t->mb_artist_ids, &t->nmb_artist_ids);
	ids = split_ids(get(f, "MUSICBRAINZ_ALBUMARTISTID"));
	dup_list(ids.empty() ? nullptr : &ids, t->mb_album_artist_ids, &t->nmb_album_artist_ids);

	double d = 0;
	if (const Values *v = get(f, "REPLAYGAIN_TRACK_GAIN"); v && parse_double(v->front(), "dB", -100, 100, &d)) {
		t->rg_track_gain = d;
		t->has_rg_track = true;
		if (const Values *p = get(f, "REPLAYGAIN_TRACK_PEAK"); p && parse_double(p->front(), nullptr, 0, 100, &d))
			t->rg_track_peak = d;
	}
	if (const Values *v = get(f, "REPLAYGAIN_ALBUM_GAIN"); v && parse_double(v->front(), "dB", -100, 100, &d)) {
		t->rg_album_gain = d;
		t->has_rg_album = true;
		if (const Values *p = get(f, "REPLAYGAIN_ALBUM_PEAK"); p && parse_double(p->front(), nullptr, 0, 100, &d))
			t->rg_album_peak = d;
	}

	t->sort_title = dup_first(get(f, "TITLESORT"));
	t->sort_artist = dup_first(get(f, "ARTISTSORT"));
	t->sort_album_artist = dup_first(get(f, "ALBUMARTISTSORT"));
	t->sort_album = dup_first(get(f, "ALBUMSORT"));

	if (const Picture *p = r.pics.best()) {
		struct media_picture *mp = &t->picture;
		mp->data = static_cast<unsigned char *>(malloc(p->data.size()));
		if (!mp->data)
			throw std::bad_alloc();
		memcpy(mp->data, p->data.data(), p->data.size());
		mp->size = p->data.size();
		mp->type = p->type;
		std::string mime;
		if (const char *sniffed = sniff_image(p->data))
			mime = sniffed;
		else {
			mime = p->mime;
			std::transform(mime.begin(), mime.end(), mime.begin(),
			               [](unsigned char c) { return (char)((c >= 'A' && c <= 'Z') ? c + 32 : c); });
			if (!plausible_mime(mime))
				mime.clear();
		}
		memcpy(mp->mime, mime.c_str(), mime.size() + 1);
	}
}

// Only the lossy formats whose properties TagLib reads from the headers and that libavformat
// names the same way; lossless files keep the full probe, which checks they are whole.
void fill_audio(Kind kind, bool sniffed, const Read &r, struct media_tag_audio *a)
{
	const TagLib::AudioProperties *p = r.file ? r.file->audioProperties() : nullptr;
	const char *format = nullptr, *codec = nullptr;

	*a = {};
	if (sniffed && (kind == Kind::Flac || kind == Kind::Wav))
		snprintf(a->container, sizeof(a->container), "%s", kind == Kind::Flac ? "flac" : "wav");
	if (!p || p->lengthInMilliseconds() <= 0 || p->sampleRate() <= 0 || p->channels() <= 0)
		return;
	switch (kind) {
	case Kind::Mpeg: format = "mp3"; codec = "mp3"; break;
	case Kind::Vorbis: format = "ogg"; codec = "vorbis"; break;
	case Kind::Opus: format = "ogg"; codec = "opus"; break;
	case Kind::Mp4: {
		auto *mp = dynamic_cast<const TagLib::MP4::Properties *>(p);
		if (!mp || mp->codec() != TagLib::MP4::Properties::AAC)
			return;
		format = "mp4";
		codec = "aac";
		break;
	}
	default:
		return;
	}
	a->known = true;
	snprintf(a->format, sizeof(a->format), "%s", format);
	snprintf(a->codec, sizeof(a->codec), "%s", codec);
	a->duration_ms = p->lengthInMilliseconds();
	a->bitrate_kbps = p->bitrate();
	a->sample_rate = p->sampleRate();
	a->channels = p->channels();
}

int read_tags(const char *path, struct media_tags *t, bool props, struct err *e)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return err_errno(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO, errno, "reading tags of %s", path);
	if (!S_ISREG(st.st_mode))
		return err_set(e, ERR_INVALID, "reading tags of %s: not a regular file", path);
	if (st.st_size == 0)
		return err_set(e, ERR_INVALID, "reading tags of %s: empty file", path);

	init_taglib();
	TagLib::FileStream stream(path, true);
	if (!stream.isOpen())
		return err_set(e, ERR_IO, "reading tags of %s: cannot open it", path);

	// The content decides; the name is only asked when the first bytes say nothing.
	Read r;
	Kind kind = sniff(stream);
	bool ok = kind != Kind::Unknown && read_as(kind, stream, r, props);
	bool sniffed = ok;
	if (!ok) {
		Kind ext = by_extension(path);
		if (ext != Kind::Unknown && ext != kind) {
			r = Read();
			ok = read_as(ext, stream, r, props);
			kind = ext;
		}
	}
	if (!ok) {
		r.file.reset(); // before the stream goes
		return err_set(e, ERR_INVALID, "reading tags of %s: not an audio format we read", path);
	}
	fill(r, t);
	if (props)
		fill_audio(kind, sniffed, r, &t->audio);
	r.file.reset();
	return 0;
}

} // namespace

static int tags_read(const char *path, struct media_tags *out, bool props, struct err *e)
{
	int ret = -1;
	struct media_tags t = {};

	*out = t;
	try {
		if (path)
			ret = read_tags(path, &t, props, e);
		else
			err_set(e, ERR_INVALID, "reading tags: no path");
	} catch (const std::bad_alloc &) {
		ret = err_set(e, ERR_NOMEM, "reading tags of %s: out of memory", path);
	} catch (const std::exception &x) {
		ret = err_set(e, ERR_INTERNAL, "reading tags of %s: %s", path, x.what());
	} catch (...) {
		ret = err_set(e, ERR_INTERNAL, "reading tags of %s: unexpected exception", path);
	}
	if (ret == 0)
		*out = t;
	else
		media_tags_release(&t);
	return ret;
}

extern "C" int media_tags_read(const char *path, struct media_tags *out, struct err *e)
{
	return tags_read(path, out, false, e);
}

extern "C" int media_tags_read_audio(const char *path, struct media_tags *out, struct err *e)
{
	return tags_read(path, out, true, e);
}

namespace {
void free_list(char **list, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free(list[i]);
	*n = 0;
}
} // namespace

extern "C" void media_tags_release(struct media_tags *t)
{
	if (!t)
		return;
	free(t->title);
	free_list(t->artists, &t->nartists);
	free(t->album);
	free_list(t->album_artists, &t->nalbum_artists);
	free(t->date);
	free_list(t->genres, &t->ngenres);
	free_list(t->composers, &t->ncomposers);
	free(t->isrc);
	free(t->label);
	free(t->lyrics);
	free(t->mb_recording_id);
	free(t->mb_release_id);
	free_list(t->mb_artist_ids, &t->nmb_artist_ids);
	free_list(t->mb_album_artist_ids, &t->nmb_album_artist_ids);
	free(t->sort_title);
	free(t->sort_artist);
	free(t->sort_album_artist);
	free(t->sort_album);
	free(t->picture.data);
	*t = {};
}
