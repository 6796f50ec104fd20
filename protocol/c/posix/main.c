/* mcubus-posix-device: the C library built into a Linux process. It serves one UART link on a
 * pseudo-terminal (prints {"port":...,"path":...} and {"ready":true} on stdout, like mcubus-sim's
 * process mode), keeps its flash in a file, verifies Ed25519 with OpenSSL's libcrypto, and "reboots"
 * in-process (RAM state is rebuilt, flash and the pty stay). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "mcubus.h"

#define SECTOR 4096u
#define SLOT_SIZE (512u * 1024u)

typedef struct {
  int pty;
  int flash;
  volatile int reboot;
  uint32_t baud;
} port_ctx_t;

static port_ctx_t P;
static mcubus_dev_t dev;
static volatile sig_atomic_t stop;

static mcubus_us_t now_us(void *ctx) {
  (void)ctx;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (mcubus_us_t)ts.tv_sec * 1000000u + (mcubus_us_t)ts.tv_nsec / 1000u;
}

/* TX is paced at the baud rate, as a real UART shifts bytes out: the host models its line that way
 * (it dates a frame's start as its arrival minus its length in character times), so a frame's wire
 * start (t3) is when its first byte leaves the queue. */
#define TXQ_SIZE (64u * 1024u)
static uint8_t txq[TXQ_SIZE];
static size_t txq_head, txq_len;
static mcubus_us_t tx_next_us; /* when the next queued byte may go */
static uint32_t tx_dropped;

static uint32_t char_time(void) { return (10000000u + P.baud - 1) / P.baud; }

static void write_all(void *ctx, unsigned link, const uint8_t *p, size_t n) {
  (void)ctx, (void)link;
  if (txq_len == 0 && tx_next_us < now_us(0)) tx_next_us = now_us(0);
  for (size_t i = 0; i < n; i++) {
    if (txq_len == TXQ_SIZE) {
      tx_dropped++; /* the line cannot keep up: bytes are lost, as from a full UART FIFO */
      continue;
    }
    txq[(txq_head + txq_len++) % TXQ_SIZE] = p[i];
  }
}

static mcubus_us_t tx_start_us(void *ctx, unsigned link) {
  (void)ctx, (void)link;
  mcubus_us_t t = now_us(0);
  mcubus_us_t busy = tx_next_us + (mcubus_us_t)txq_len * char_time();
  return txq_len > 0 && busy > t ? busy : t;
}

/* Writes the bytes whose time has come. */
static void tx_pump(void) {
  mcubus_us_t t = now_us(0);
  if (txq_len == 0 || t < tx_next_us) return;
  size_t due = (size_t)((t - tx_next_us) / char_time()) + 1;
  if (due > txq_len) due = txq_len;
  while (due > 0) {
    size_t run = due < TXQ_SIZE - txq_head ? due : TXQ_SIZE - txq_head;
    ssize_t w = write(P.pty, txq + txq_head, run);
    if (w <= 0) {
      if (w < 0 && errno != EAGAIN && errno != EINTR) { /* the other end is gone: a cut wire */
        txq_len = 0;
      }
      return;
    }
    txq_head = (txq_head + (size_t)w) % TXQ_SIZE;
    txq_len -= (size_t)w;
    due -= (size_t)w;
    tx_next_us += (mcubus_us_t)w * char_time();
  }
}

static bool flash_erase(void *ctx, uint32_t addr, uint32_t len) {
  port_ctx_t *c = ctx;
  static uint8_t ff[SECTOR];
  memset(ff, 0xFF, sizeof ff);
  for (uint32_t off = 0; off < len; off += SECTOR)
    if (pwrite(c->flash, ff, (len - off < SECTOR ? len - off : SECTOR), (off_t)(addr + off)) < 0) return false;
  return true;
}

static bool flash_write(void *ctx, uint32_t addr, const uint8_t *p, uint32_t n) {
  port_ctx_t *c = ctx;
  return pwrite(c->flash, p, n, (off_t)addr) == (ssize_t)n;
}

static bool flash_read(void *ctx, uint32_t addr, uint8_t *p, uint32_t n) {
  port_ctx_t *c = ctx;
  return pread(c->flash, p, n, (off_t)addr) == (ssize_t)n;
}

static void do_reset(void *ctx) { ((port_ctx_t *)ctx)->reboot = 1; }

static bool verify(void *ctx, const uint8_t sig[64], const uint8_t *msg, size_t n, const uint8_t pub[32]) {
  (void)ctx;
  EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  bool ok = key && md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) == 1 &&
            EVP_DigestVerify(md, sig, 64, msg, n) == 1;
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(key);
  return ok;
}

static bool load_key(const char *path, uint8_t out[32]) {
  FILE *f = fopen(path, "r");
  if (!f) return false;
  EVP_PKEY *key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
  fclose(f);
  size_t len = 32;
  bool ok = key && EVP_PKEY_get_raw_public_key(key, out, &len) == 1 && len == 32;
  EVP_PKEY_free(key);
  return ok;
}

static bool parse_version(const char *s, uint32_t v[3]) {
  return sscanf(s, "%u.%u.%u", &v[0], &v[1], &v[2]) == 3;
}

static void on_signal(int s) {
  (void)s;
  stop = 1;
}

static void usage(void) {
  fprintf(stderr, "usage: mcubus-posix-device --flash FILE [--address 0x21] [--hardware-id ID] [--name NAME]\n"
                  "         [--version 1.0.0] [--trusted-key KEY.pub.pem] [--heartbeat-ms 1000] [--baud 115200]\n"
                  "         [--port TTY]   (open TTY, e.g. a simulator's pty, instead of serving a new pty)\n"
                  "         [--link PATH]  (a symlink to the pty served, at a path a configuration can name)\n"
                  "         [--crash-version X.Y.Z]  (that application version resets 200 ms after it boots,\n"
                  "                                   unconfirmed: the bootloader must revert it)\n");
}

/* Receive pacing (see the read loop): bytes the line could have delivered since the last read. */
#define RX_BURST 256.0
static double rx_credit;
static mcubus_us_t rx_last_us;

int main(int argc, char **argv) {
  static mcubus_identity_t id;
  const char *flash_path = 0, *key_path = 0, *port_path = 0, *link_path = 0;
  uint32_t crash_version[3] = {0, 0, 0};
  int crash = 0;
  id.address = 0x21;
  id.hardware_id = "mcubus-c-posix";
  id.name = "c-posix";
  id.hardware_rev = 1;
  id.factory_version[0] = 1;
  id.bootloader_version[0] = 1;
  id.heartbeat_period_ms = 1000;
  id.reset_reason = 1; /* power_on */
  P.baud = 115200;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : 0;
    if (!v) {
      usage();
      return 2;
    }
    i++;
    if (!strcmp(a, "--flash")) flash_path = v;
    else if (!strcmp(a, "--address")) id.address = (uint8_t)strtoul(v, 0, 0);
    else if (!strcmp(a, "--hardware-id")) id.hardware_id = v;
    else if (!strcmp(a, "--name")) id.name = v;
    else if (!strcmp(a, "--version")) {
      if (!parse_version(v, id.factory_version)) return usage(), 2;
    } else if (!strcmp(a, "--trusted-key")) key_path = v;
    else if (!strcmp(a, "--heartbeat-ms")) id.heartbeat_period_ms = (uint32_t)strtoul(v, 0, 0);
    else if (!strcmp(a, "--baud")) P.baud = (uint32_t)strtoul(v, 0, 0);
    else if (!strcmp(a, "--port")) port_path = v;
    else if (!strcmp(a, "--link")) link_path = v;
    else if (!strcmp(a, "--crash-version")) {
      if (!parse_version(v, crash_version)) return usage(), 2;
      crash = 1;
    }
    else return usage(), 2;
  }
  if (!flash_path) return usage(), 2;
  if (key_path && !load_key(key_path, id.trusted_key)) {
    fprintf(stderr, "cannot read an Ed25519 public key from %s\n", key_path);
    return 2;
  }
  /* uid: derived from the address and hardware id, stable across runs */
  id.uid_len = 12;
  for (size_t i = 0; id.hardware_id[i]; i++) id.uid[i % 12] = (uint8_t)(id.uid[i % 12] * 31u + (uint8_t)id.hardware_id[i]);
  id.uid[11] ^= id.address;

  P.flash = open(flash_path, O_RDWR | O_CREAT, 0600);
  if (P.flash < 0 || ftruncate(P.flash, (off_t)(2 * SECTOR + 2 * SLOT_SIZE)) < 0) {
    perror(flash_path);
    return 1;
  }
  const char *path;
  struct termios t;
  int slave = -1;
  if (port_path) {
    /* A line someone else serves (another simulator's pty, a USB-serial adapter): open it raw. */
    path = port_path;
    P.pty = open(port_path, O_RDWR | O_NOCTTY);
    if (P.pty < 0 || tcgetattr(P.pty, &t) < 0) {
      perror(port_path);
      return 1;
    }
    cfmakeraw(&t);
    tcsetattr(P.pty, TCSANOW, &t);
  } else {
    P.pty = posix_openpt(O_RDWR | O_NOCTTY);
    if (P.pty < 0 || grantpt(P.pty) < 0 || unlockpt(P.pty) < 0) {
      perror("pty");
      return 1;
    }
    path = ptsname(P.pty);
    /* Hold the other end open ourselves: a pty whose slave nobody holds reports EIO to the master. */
    slave = open(path, O_RDWR | O_NOCTTY);
    if (slave < 0 || tcgetattr(slave, &t) < 0) {
      perror(path);
      return 1;
    }
    cfmakeraw(&t);
    tcsetattr(slave, TCSANOW, &t);
  }
  fcntl(P.pty, F_SETFL, fcntl(P.pty, F_GETFL) | O_NONBLOCK);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);

  mcubus_port_t port = {&P, now_us, write_all, tx_start_us, 0, flash_erase, flash_write, flash_read, do_reset,
                        key_path ? verify : 0};
  mcubus_flash_layout_t layout = {SECTOR, 0, {2 * SECTOR, 2 * SECTOR + SLOT_SIZE}, SLOT_SIZE, 200};
  if (link_path) {
    unlink(link_path);
    if (symlink(path, link_path) < 0) {
      perror(link_path);
      return 1;
    }
    path = link_path;
  }
  printf("{\"port\":\"uart0\",\"kind\":\"uart\",\"path\":\"%s\",\"baud\":%u}\n", path, P.baud);
  printf("{\"ready\":true,\"address\":%u}\n", id.address);
  fflush(stdout);

  for (;;) { /* one iteration of this loop per boot */
    mcubus_dev_init(&dev, &id, &port, &layout);
    mcubus_dev_add_uart(&dev, 0, "uart0", P.baud);
    mcubus_dev_start(&dev);
    P.reboot = 0;
    /* A crashing build: the application runs briefly, then faults (a reset nobody asked for). */
    mcubus_us_t crash_at = 0;
    if (crash && dev.running_slot != 0xFF &&
        !memcmp(dev.boot.slot[dev.running_slot].version, crash_version, sizeof crash_version))
      crash_at = now_us(0) + 200000;
    while (!stop && !P.reboot) {
      if (crash_at && now_us(0) >= crash_at) {
        fprintf(stderr, "crash: version %u.%u.%u faults after boot\n", (unsigned)crash_version[0],
                (unsigned)crash_version[1], (unsigned)crash_version[2]);
        P.reboot = 1;
        break;
      }
      struct pollfd pf = {P.pty, POLLIN, 0};
      poll(&pf, 1, txq_len > 0 ? 0 : 1);
      if (txq_len > 0) usleep(50);
      /* Take bytes no faster than the line's baud rate: a pty would hand over whatever the host wrote
       * at once, and a device that swallows an update at memory speed tests nothing a real UART
       * would (interrupted transfers, the host's window). The pty's buffer holds the rest back. */
      mcubus_us_t t_rx = now_us(0);
      rx_credit += (double)(t_rx - rx_last_us) * P.baud / 10.0 / 1e6;
      rx_last_us = t_rx;
      if (rx_credit > RX_BURST) rx_credit = RX_BURST;
      uint8_t buf[4096];
      while (rx_credit >= 1.0) {
        size_t want = (size_t)rx_credit < sizeof buf ? (size_t)rx_credit : sizeof buf;
        ssize_t n = read(P.pty, buf, want);
        if (n <= 0) break;
        rx_credit -= (double)n;
        /* A pty delivers a whole write at once: the burst's first byte arrived just now. */
        mcubus_dev_uart_rx(&dev, 0, buf, (size_t)n, now_us(0));
      }
      mcubus_dev_poll(&dev);
      tx_pump();
    }
    while (!stop && txq_len > 0) { /* the last answer leaves before the "reset" */
      tx_pump();
      usleep(100);
    }
    if (stop) break;
    id.reset_count++;
    id.reset_reason = crash_at && now_us(0) >= crash_at ? 6 : dev.upd.state == 5 ? 7 : 3; /* fault, update, software */
  }
  if (slave >= 0) close(slave);
  close(P.pty);
  close(P.flash);
  return 0;
}
