/* SigV4 against AWS's published vectors: the Signature Version 4 test suite
 * (get-vanilla, get-vanilla-query-order-key-case) and the worked S3
 * examples of the S3 API reference (GET Object, PUT Object, GET Bucket
 * lifecycle, GET Bucket with a query), plus URI encoding. */
#include <string.h>

#include "sink/sigv4.h"
#include "tap.h"

/* The suite's credentials, and the S3 examples' (note "/" vs "+"). */
static const struct sigv4_key suite_key = {"AKIDEXAMPLE",
					   "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
static const struct sigv4_key s3_key = {"AKIAIOSFODNN7EXAMPLE",
					"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};

static const char *sign(const struct sigv4_request *r, const struct sigv4_key *k)
{
	static struct strbuf out;

	strbuf_release(&out);
	if (sigv4_authorization(r, k, &out))
		return "(error)";
	return out.s;
}

static const char *signature_of(const char *auth)
{
	const char *s = strstr(auth, "Signature=");

	return s ? s + 10 : "(none)";
}

static void suite(void)
{
	struct sigv4_header h[] = {{"Host", "example.amazonaws.com"},
				   {"X-Amz-Date", "20150830T123600Z"}};
	struct sigv4_request r = {
		.method = "GET", .path = "/", .headers = h, .nheaders = 2,
		.payload_sha256 = SIGV4_EMPTY_SHA256, .amz_date = "20150830T123600Z",
		.region = "us-east-1", .service = "service",
	};

	is_str(sign(&r, &suite_key),
	       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
	       "SignedHeaders=host;x-amz-date, "
	       "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
	       "suite get-vanilla: the whole Authorization header");
	r.query = "Param2=value2&Param1=value1";
	is_str(signature_of(sign(&r, &suite_key)),
	       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
	       "suite get-vanilla-query-order-key-case: parameters sorted");
}

static void s3_examples(void)
{
	struct sigv4_header get[] = {
		{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"},
		{"x-amz-content-sha256", SIGV4_EMPTY_SHA256}, {"x-amz-date", "20130524T000000Z"}};
	struct sigv4_header put[] = {
		{"Host", "examplebucket.s3.amazonaws.com"},
		{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
		{"x-amz-date", "20130524T000000Z"},
		{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
		{"x-amz-content-sha256",
		 "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"}};
	struct sigv4_header list[] = {
		{"Host", "examplebucket.s3.amazonaws.com"},
		{"x-amz-content-sha256", SIGV4_EMPTY_SHA256}, {"x-amz-date", "20130524T000000Z"}};
	struct sigv4_request r = {
		.method = "GET", .path = "/test.txt", .headers = get, .nheaders = 4,
		.payload_sha256 = SIGV4_EMPTY_SHA256, .amz_date = "20130524T000000Z",
		.region = "us-east-1", .service = "s3",
	};
	struct strbuf creq, path;
	char sum[65];

	is_str(sign(&r, &s3_key),
	       "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
	       "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
	       "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
	       "S3 GET Object with a Range");
	strbuf_init(&creq);
	sigv4_canonical_request(&r, &creq);
	sigv4_sha256_hex(creq.s, creq.len, sum);
	is_str(sum, "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
	       "S3 GET Object: the canonical request's hash in the string to sign");
	strbuf_release(&creq);

	sigv4_sha256_hex("Welcome to Amazon S3.", 21, sum);
	is_str(sum, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
	       "SHA-256 of the PUT example's body");
	strbuf_init(&path);
	strbuf_add(&path, "/", 1);
	sigv4_uri_encode("test$file.text", false, &path);
	r = (struct sigv4_request){
		.method = "PUT", .path = path.s, .headers = put, .nheaders = 5, .payload_sha256 = sum,
		.amz_date = "20130524T000000Z", .region = "us-east-1", .service = "s3",
	};
	strbuf_init(&creq);
	sigv4_canonical_request(&r, &creq);
	is_str(creq.s,
	       "PUT\n/test%24file.text\n\n"
	       "date:Fri, 24 May 2013 00:00:00 GMT\nhost:examplebucket.s3.amazonaws.com\n"
	       "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
	       "x-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
	       "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
	       "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
	       "S3 PUT Object: the canonical request as published");
	sigv4_sha256_hex(creq.s, creq.len, sum);
	is_str(sum, "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
	       "S3 PUT Object: its hash");
	strbuf_release(&creq);
	r.payload_sha256 = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
	is_str(signature_of(sign(&r, &s3_key)),
	       "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
	       "S3 PUT Object with an encoded key");
	strbuf_release(&path);

	r = (struct sigv4_request){
		.method = "GET", .path = "/", .query = "lifecycle", .headers = list, .nheaders = 3,
		.payload_sha256 = SIGV4_EMPTY_SHA256, .amz_date = "20130524T000000Z",
		.region = "us-east-1", .service = "s3",
	};
	is_str(signature_of(sign(&r, &s3_key)),
	       "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
	       "S3 GET Bucket lifecycle: a bare query name signs as 'lifecycle='");
	r.query = "prefix=J&max-keys=2";
	is_str(signature_of(sign(&r, &s3_key)),
	       "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
	       "S3 GET Bucket (list objects): the query sorted");
	r.amz_date = "2013-05-24";
	is_str(sign(&r, &s3_key), "(error)", "a malformed x-amz-date is refused");
}

static const char *enc(const char *s, bool slash)
{
	static struct strbuf out;

	strbuf_release(&out);
	sigv4_uri_encode(s, slash, &out);
	return out.s ? out.s : "";
}

static void encoding(void)
{
	struct strbuf creq;
	struct sigv4_header h[] = {{"Host", "h"}, {"X-Amz-Meta-Note", "  two   spaces  "}};
	struct sigv4_request r = {
		.method = "POST", .path = "/b/k", .query = "uploadId=abc&partNumber=10&uploads",
		.headers = h, .nheaders = 2, .payload_sha256 = "UNSIGNED-PAYLOAD",
		.amz_date = "20130524T000000Z", .region = "r", .service = "s3",
	};
	char date[17];

	is_str(enc("A-z_0.9~", true), "A-z_0.9~", "unreserved characters stay");
	is_str(enc("a b+c%", false), "a%20b%2Bc%25", "space, plus and percent are encoded");
	is_str(enc("dir/disk.qcow2", false), "dir/disk.qcow2", "a key keeps its slashes");
	is_str(enc("dir/disk", true), "dir%2Fdisk", "a query value does not");
	is_str(enc("\xd0\xba", false), "%D0%BA", "UTF-8 bytes are encoded one by one, upper-case hex");
	strbuf_init(&creq);
	sigv4_canonical_request(&r, &creq);
	is_str(creq.s,
	       "POST\n/b/k\npartNumber=10&uploadId=abc&uploads=\nhost:h\nx-amz-meta-note:two spaces\n"
	       "\nhost;x-amz-meta-note\nUNSIGNED-PAYLOAD",
	       "multipart parameters sorted, header values trimmed and folded");
	strbuf_release(&creq);
	sigv4_amz_date(1369353600, date);
	is_str(date, "20130524T000000Z", "x-amz-date from a time_t, in UTC");
}

int main(void)
{
	tap_plan(2 + 9 + 7);
	suite();
	s3_examples();
	encoding();
	return tap_failed ? 1 : 0;
}
