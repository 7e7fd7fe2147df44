/*
 * weft-cni: the CNI plugin binary. A forwarder: it sends the CNI_* variables and stdin to the local
 * weftd's CNI socket and prints what weftd answers, so all of weft's CNI behaviour lives in the agent
 * and this file never changes with it. A runtime execs the plugin for every container: a Node process
 * takes ~150-400 ms to start here, this ~1-2 ms. Framing: agent/cni/cni-wire.ts.
 *
 * The socket: the configuration's "apiSocket" (default /run/weft/weft.sock) with ".sock" replaced by
 * "-cni.sock". VERSION is answered here, so it works while weftd is down.
 * Build: cc -O2 -static -o weft-cni weft-cni.c (`weft cni install` does it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_INPUT (4 * 1024 * 1024)
/* Keep in step with SUPPORTED_VERSIONS in agent/cni/cni-request.ts (a unit test checks). */
#define SUPPORTED "[\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]"

static char input[MAX_INPUT + 1];

/* The string value of the first "key": "value" in the JSON text; 0 when absent, -1 when unusable. */
static int json_string(const char *text, const char *key, char *out, size_t size) {
  char quoted[64];
  snprintf(quoted, sizeof quoted, "\"%s\"", key);
  const char *at = strstr(text, quoted);
  if (!at) return 0;
  at += strlen(quoted);
  while (*at == ' ' || *at == '\t' || *at == '\n' || *at == '\r') at++;
  if (*at++ != ':') return -1;
  while (*at == ' ' || *at == '\t' || *at == '\n' || *at == '\r') at++;
  if (*at++ != '"') return -1;
  size_t n = 0;
  while (*at && *at != '"') {
    if (*at == '\\' || n + 1 >= size) return -1;
    out[n++] = *at++;
  }
  if (*at != '"') return -1;
  out[n] = 0;
  return 1;
}

static void fail(const char *version, int code, const char *msg, const char *details) {
  printf("{\"cniVersion\":\"%s\",\"code\":%d,\"msg\":\"%s\",\"details\":\"%s\"}\n", version, code, msg, details);
  exit(1);
}

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

int main(void) {
  size_t len = 0;
  ssize_t n;
  while (len < MAX_INPUT && (n = read(0, input + len, MAX_INPUT - len)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("1.1.0", 5, "stdin: cannot read", strerror(errno));
    len += (size_t)n;
  }
  input[len] = 0;

  char version[16] = "1.1.0";
  if (json_string(input, "cniVersion", version, sizeof version) != 1) strcpy(version, "1.1.0");
  const char *command = getenv("CNI_COMMAND");
  if (command && strcmp(command, "VERSION") == 0) {
    printf("{\"cniVersion\":\"%s\",\"supportedVersions\":" SUPPORTED "}\n", version);
    return 0;
  }

  char api[96] = "/run/weft/weft.sock";
  if (json_string(input, "apiSocket", api, sizeof api) < 0) fail(version, 7, "apiSocket: must be a plain path of at most 90 characters", "");
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t base = strlen(api);
  if (base >= 5 && strcmp(api + base - 5, ".sock") == 0) base -= 5;
  if (base + sizeof "-cni.sock" > sizeof addr.sun_path) fail(version, 7, "apiSocket: too long for a unix socket", "");
  memcpy(addr.sun_path, api, base);
  strcpy(addr.sun_path + base, "-cni.sock");

  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    int is_status = command && strcmp(command, "STATUS") == 0;
    fail(version, is_status ? 50 : 11, "weftd is not answering: try again later", addr.sun_path);
  }
  static const char *vars[] = {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
    const char *value = getenv(vars[i]);
    if (!value) continue;
    if (write_all(fd, vars[i], strlen(vars[i])) || write_all(fd, "=", 1) || write_all(fd, value, strlen(value) + 1))
      fail(version, 5, "cannot send the request to weftd", strerror(errno));
  }
  if (write_all(fd, "", 1) || write_all(fd, input, len)) fail(version, 5, "cannot send the request to weftd", strerror(errno));
  shutdown(fd, SHUT_WR);

  /* The answer: "<exit code>\n" then stdout. Read the code a byte at a time, then copy through. */
  char line[16];
  size_t got = 0;
  for (;;) {
    char c;
    n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || got + 1 >= sizeof line) fail(version, 11, "weftd closed the connection without an answer: try again later", addr.sun_path);
    if (c == '\n') break;
    line[got++] = c;
  }
  line[got] = 0;
  int exit_code = atoi(line);
  char buffer[65536];
  while ((n = read(fd, buffer, sizeof buffer)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || write_all(1, buffer, (size_t)n)) return 1;
  }
  return exit_code;
}
