-- Wireshark dissector for mcubus (docs/protocol.md) and the captures mcubusd writes
-- (docs/observability.md, "Captures", says how to install and use it).
--
--   mcubus       the frame (§2): header, CRC-32C check, CBOR body as a tree of keys → values
--   mcubus_uart  LINKTYPE_USER0: one COBS piece of a UART as on the wire (§6), decoded, then mcubus
--   mcubus_rtu   LINKTYPE_USER1: one Modbus RTU ADU (§8): address, function, CRC-16; the FC 0x41
--                tunnel's frame goes to mcubus
--   mcubus_can   heuristic on CAN (LINKTYPE_CAN_SOCKETCAN): frames whose 29-bit id follows §7.1 get
--                their mcubus addressing and ISO-TP PCI shown; ISO-TP messages are reassembled and
--                their mcubus frame dissected
--
-- Written for Wireshark 3.6 and later (Lua 5.2 to 5.4; tested with 4.0). The name tables below are
-- generated from the protocol package's message catalogue; do not edit them by hand.

-- generated:tables (npx tsx scripts/gen-wireshark.ts) --
-- Message type code -> name (docs/protocol.md §4.1).
local MESSAGE_NAMES = {
  [0x01] = "HELLO",
  [0x02] = "IDENTIFY",
  [0x03] = "HEARTBEAT",
  [0x04] = "PING",
  [0x05] = "PONG",
  [0x08] = "TIME_SYNC_REQ",
  [0x09] = "TIME_SYNC_RESP",
  [0x0a] = "TIME_SYNC_FOLLOWUP",
  [0x0b] = "TIME_MAP",
  [0x10] = "UPDATE_BEGIN",
  [0x11] = "UPDATE_CHUNK",
  [0x12] = "UPDATE_ACK",
  [0x13] = "UPDATE_VERIFY",
  [0x14] = "UPDATE_ACTIVATE",
  [0x15] = "UPDATE_CONFIRM",
  [0x16] = "UPDATE_ABORT",
  [0x17] = "UPDATE_STATUS_REQ",
  [0x18] = "UPDATE_STATUS",
  [0x20] = "RESET",
  [0x30] = "LOG",
  [0x31] = "TELEMETRY",
  [0x40] = "TOPOLOGY_REQ",
  [0x41] = "TOPOLOGY",
  [0x42] = "TRACE_REQ",
  [0x43] = "TRACE_RECORDS",
  [0x7e] = "OK",
  [0x7f] = "ERROR",
}

-- Message type code -> body key -> field name.
local FIELD_NAMES = {
  [0x01] = { [1] = "uid", [2] = "hardwareId", [3] = "hardwareRev", [4] = "firmwareVersion", [5] = "bootloaderVersion", [6] = "slots", [7] = "capabilities", [8] = "maxFrame", [9] = "mode", [10] = "protocolVersions", [11] = "name", [12] = "clock", [13] = "heartbeatPeriodMs", [14] = "securityCounter", [15] = "uptimeMs" },
  [0x02] = { [1] = "heartbeatPeriodMs" },
  [0x03] = { [1] = "uptimeMs", [2] = "mode", [3] = "health", [4] = "resetReason", [5] = "resetCount", [6] = "counters", [7] = "vendorStatus", [8] = "periodMs", [9] = "deviceTime" },
  [0x04] = { [1] = "nonce" },
  [0x05] = { [1] = "nonce" },
  [0x08] = { [1] = "t1" },
  [0x09] = { [1] = "t1", [2] = "t2", [3] = "t3" },
  [0x0a] = { [1] = "t1", [3] = "t3" },
  [0x0b] = { [1] = "node", [2] = "at", [3] = "offsetUs", [4] = "skewPpb", [5] = "errorBoundUs", [6] = "samples" },
  [0x10] = { [1] = "session", [2] = "kind", [3] = "size", [4] = "sha256", [5] = "chunkSize", [6] = "manifest" },
  [0x11] = { [1] = "session", [2] = "offset", [3] = "data" },
  [0x12] = { [1] = "session", [2] = "cumulative", [3] = "sack", [4] = "window" },
  [0x13] = { [1] = "session" },
  [0x14] = { [1] = "session", [2] = "permanent" },
  [0x15] = { [1] = "slot" },
  [0x16] = { [1] = "session", [2] = "reason" },
  [0x17] = { [1] = "sha256" },
  [0x18] = { [1] = "session", [2] = "state", [3] = "kind", [4] = "sha256", [5] = "received", [6] = "size", [7] = "maxChunk", [8] = "window", [9] = "flashWriteUs", [10] = "error" },
  [0x20] = { [1] = "target", [2] = "delayMs" },
  [0x30] = { [1] = "deviceTime", [2] = "level", [3] = "text", [4] = "module" },
  [0x31] = { [1] = "samples" },
  [0x40] = {  },
  [0x41] = { [1] = "routes" },
  [0x42] = { [1] = "since", [2] = "max", [3] = "match" },
  [0x43] = { [1] = "next", [2] = "oldest", [3] = "ports", [4] = "records", [5] = "bulkForwarded", [6] = "oldestAt" },
  [0x7e] = { [1] = "detail" },
  [0x7f] = { [1] = "code", [2] = "message", [3] = "requestType", [4] = "reporter", [5] = "detail" },
}

-- ERROR body key 1 (code) -> name (docs/protocol.md §4.2).
local ERROR_CODES = {
  [1] = "unknown_type",
  [2] = "bad_request",
  [3] = "unsupported_version",
  [4] = "busy",
  [5] = "no_route",
  [6] = "ttl_expired",
  [7] = "timeout",
  [8] = "too_large",
  [9] = "bad_state",
  [10] = "bad_session",
  [11] = "bad_offset",
  [12] = "hash_mismatch",
  [13] = "signature_invalid",
  [14] = "hardware_mismatch",
  [15] = "downgrade_rejected",
  [16] = "flash_error",
  [17] = "no_space",
  [18] = "not_supported",
  [19] = "internal",
  [20] = "aborted",
  [21] = "bad_crc",
}
-- end generated:tables --

---------------------------------------------------------------------------------------------------
-- Bit operations that work on every Lua Wireshark ships (bit32 in 5.2, LuaBitOp "bit" elsewhere).
local B = bit32 or bit
local function u32(x) return x % 4294967296 end
local function band(a, b) return u32(B.band(a, b)) end
local function bxor(a, b) return u32(B.bxor(a, b)) end
local function rshift(a, n) return u32(B.rshift(a, n)) end

-- CRC-32C (Castagnoli), reflected polynomial 0x82F63B78 (§2).
local CRC32C = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if band(c, 1) == 1 then c = bxor(rshift(c, 1), 0x82F63B78) else c = rshift(c, 1) end
  end
  CRC32C[i] = c
end

-- CRC-16/MODBUS, reflected polynomial 0xA001, init 0xFFFF, no final XOR (§8.2).
local CRC16 = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if band(c, 1) == 1 then c = bxor(rshift(c, 1), 0xA001) else c = rshift(c, 1) end
  end
  CRC16[i] = c
end

local function hex2(n) return string.format("0x%02x", n) end
local function addr_name(a)
  if a == 0 then return "host" elseif a == 0xff then return "broadcast" else return hex2(a) end
end

---------------------------------------------------------------------------------------------------
-- mcubus frame (§2)

local mcubus = Proto("mcubus", "mcubus frame")

local PRIORITY_NAMES = { [0] = "urgent", [1] = "high", [2] = "normal", [3] = "bulk" }
local CRC_STATUS = { [0] = "Bad", [1] = "Good", [2] = "Unverified" }

local f = {
  version = ProtoField.uint8("mcubus.version", "Version", base.DEC),
  flags = ProtoField.uint8("mcubus.flags", "Flags", base.HEX),
  response = ProtoField.bool("mcubus.flags.response", "Response", 8, nil, 0x01),
  retransmit = ProtoField.bool("mcubus.flags.retransmit", "Retransmit", 8, nil, 0x02),
  priority = ProtoField.uint8("mcubus.flags.priority", "Priority", base.DEC, PRIORITY_NAMES, 0x0c),
  reserved = ProtoField.uint8("mcubus.flags.reserved", "Reserved", base.HEX, nil, 0xf0),
  dst = ProtoField.uint8("mcubus.dst", "Destination", base.HEX),
  src = ProtoField.uint8("mcubus.src", "Source", base.HEX),
  ttl = ProtoField.uint8("mcubus.ttl", "TTL", base.DEC),
  type = ProtoField.uint8("mcubus.type", "Type", base.HEX, MESSAGE_NAMES),
  type_name = ProtoField.string("mcubus.type_name", "Type name"),
  seq = ProtoField.uint16("mcubus.seq", "Sequence", base.DEC),
  body = ProtoField.bytes("mcubus.body", "Body (CBOR)"),
  key = ProtoField.int64("mcubus.body.key", "Key"),
  key_text = ProtoField.string("mcubus.body.key_text", "Key"),
  value = ProtoField.string("mcubus.body.value", "Value"),
  crc = ProtoField.uint32("mcubus.crc", "CRC-32C", base.HEX),
  crc_status = ProtoField.uint8("mcubus.crc.status", "CRC status", base.DEC, CRC_STATUS),
  crc_computed = ProtoField.uint32("mcubus.crc.computed", "Computed CRC-32C", base.HEX),
  error_code = ProtoField.uint16("mcubus.error.code", "Error code", base.DEC, ERROR_CODES),
}
mcubus.fields = f

local e = {
  truncated = ProtoExpert.new("mcubus.truncated", "Frame shorter than 13 bytes", expert.group.MALFORMED, expert.severity.ERROR),
  version = ProtoExpert.new("mcubus.unknown_version", "Unknown frame version", expert.group.MALFORMED, expert.severity.ERROR),
  bad_crc = ProtoExpert.new("mcubus.bad_crc", "CRC-32C mismatch", expert.group.CHECKSUM, expert.severity.ERROR),
  bad_cbor = ProtoExpert.new("mcubus.bad_cbor", "Body is not well-formed CBOR of the §3 subset", expert.group.MALFORMED, expert.severity.ERROR),
  unknown_type = ProtoExpert.new("mcubus.unknown_type", "Unknown message type", expert.group.UNDECODED, expert.severity.NOTE),
  retransmit = ProtoExpert.new("mcubus.retransmit.expert", "Retransmitted frame", expert.group.SEQUENCE, expert.severity.NOTE),
}
mcubus.experts = e

local MAX_DEPTH = 16

-- Reads a CBOR head at `off`: major type, additional info, argument, head length. The argument is a
-- Lua number, or a UInt64 for 8-byte arguments above 2^53.
local function cbor_head(tvb, off, limit)
  if off >= limit then return nil, "truncated" end
  local ib = tvb(off, 1):uint()
  local major, ai = rshift(ib, 5), band(ib, 0x1f)
  if ai < 24 then return major, ai, ai, 1 end
  local n = ({ [24] = 1, [25] = 2, [26] = 4, [27] = 8 })[ai]
  if n == nil then return nil, string.format("additional information %d (indefinite or reserved) at offset %d", ai, off) end
  if off + 1 + n > limit then return nil, "head runs past the end" end
  if n == 8 then
    local v = tvb(off + 1, 8):uint64()
    if v <= UInt64(0xffffffff, 0x1fffff) then v = tonumber(tostring(v)) end
    return major, ai, v, 9
  end
  return major, ai, tvb(off + 1, n):uint(), 1 + n
end

local function half_float(h)
  local sign = band(h, 0x8000) ~= 0 and -1 or 1
  local exp, mant = band(rshift(h, 10), 0x1f), band(h, 0x3ff)
  if exp == 0 then return sign * mant * 2 ^ -24 end
  if exp == 31 then return mant == 0 and sign * math.huge or 0 / 0 end
  return sign * (1 + mant / 1024) * 2 ^ (exp - 15)
end

local function short_hex(tvb, off, n)
  local shown = math.min(n, 16)
  local s = n == 0 and "" or tvb(off, shown):bytes():tohex(true, "")
  return s .. (n > shown and "…" or "")
end

-- Dissects one CBOR item at `off`; maps and arrays get subtrees under `tree`. Returns the offset
-- after the item and a one-line summary, or nil and an error message. `names` maps the keys of a
-- top-level map to field names.
local dissect_item
dissect_item = function(tvb, off, limit, tree, depth, names)
  if depth > MAX_DEPTH then return nil, "nesting deeper than 16" end
  local major, ai, arg, hl = cbor_head(tvb, off, limit)
  if major == nil then return nil, ai end
  local start = off
  off = off + hl
  if major == 0 then return off, tostring(arg) end
  if major == 1 then
    if type(arg) == "number" then return off, tostring(-1 - arg) end
    return off, "-1-" .. tostring(arg)
  end
  if major == 2 or major == 3 then
    if type(arg) ~= "number" or off + arg > limit then return nil, "string runs past the end" end
    if major == 2 then return off + arg, string.format("h'%s' (%d bytes)", short_hex(tvb, off, arg), arg) end
    return off + arg, string.format("%q", arg == 0 and "" or tvb(off, arg):string(ENC_UTF_8))
  end
  if major == 4 or major == 5 then
    if type(arg) ~= "number" then return nil, "length too large" end
    local is_map = major == 5
    local sub = tree:add(tvb(start, 1), is_map and "map" or "array")
    for i = 1, arg do
      local entry_start = off
      local label
      local entry = sub:add(tvb(off, 1), "")
      if is_map then
        local km, _, kv, khl = cbor_head(tvb, off, limit)
        if km == nil then return nil, _ end
        if (km == 0 or km == 1) and type(kv) == "number" then
          local key = km == 0 and kv or -1 - kv
          entry:add(f.key, tvb(off, khl), Int64.new(key))
          label = tostring(key)
          local name = names and type(key) == "number" and names[key]
          if name then label = label .. " (" .. name .. ")" end
          off = off + khl
        elseif km == 3 then
          if type(kv) ~= "number" or off + khl + kv > limit then return nil, "map key runs past the end" end
          local text = kv == 0 and "" or tvb(off + khl, kv):string(ENC_UTF_8)
          entry:add(f.key_text, tvb(off, khl + kv), text)
          label = string.format("%q", text)
          off = off + khl + kv
        else
          return nil, string.format("map key of major type %d at offset %d (only integers and text)", km, off)
        end
      else
        label = string.format("[%d]", i - 1)
      end
      local value_start = off
      local next_off, summary = dissect_item(tvb, off, limit, entry, depth + 1, nil)
      if next_off == nil then return nil, summary end
      off = next_off
      entry:add(f.value, tvb(value_start, off - value_start), summary)
      entry:set_len(off - entry_start)
      entry:set_text(label .. ": " .. summary)
    end
    sub:set_len(off - start)
    local summary = is_map and string.format("{%d entr%s}", arg, arg == 1 and "y" or "ies")
      or string.format("[%d item%s]", arg, arg == 1 and "" or "s")
    sub:set_text((is_map and "map " or "array ") .. summary)
    return off, summary
  end
  if major == 6 then return nil, "tag (not allowed)" end
  -- major 7: simple values and floats
  if ai == 20 then return off, "false" end
  if ai == 21 then return off, "true" end
  if ai == 22 then return off, "null" end
  if ai == 25 then return off, tostring(half_float(arg)) end
  if ai == 26 then return off, tostring(tvb(start + 1, 4):float()) end
  if ai == 27 then return off, tostring(tvb(start + 1, 8):float()) end
  return nil, string.format("simple value %d (not allowed)", ai)
end

-- Returns a one-line summary of the frame (for the info column of the carrier).
function mcubus.dissector(tvb, pinfo, tree)
  local len = tvb:len()
  pinfo.cols.protocol = "mcubus"
  local t = tree:add(mcubus, tvb(), "mcubus frame")
  if len < 13 then
    t:add_proto_expert_info(e.truncated, string.format("truncated: %d bytes, a frame has at least 13", len))
    return len
  end
  local version = tvb(0, 1):uint()
  t:add(f.version, tvb(0, 1))
  if version ~= 1 then
    t:add_proto_expert_info(e.version, string.format("unknown_version: %d (this dissector knows 1)", version))
    return len
  end
  local flags = tvb(1, 1):uint()
  local ft = t:add(f.flags, tvb(1, 1))
  ft:add(f.response, tvb(1, 1))
  ft:add(f.retransmit, tvb(1, 1))
  ft:add(f.priority, tvb(1, 1))
  ft:add(f.reserved, tvb(1, 1))
  local dst, src, ttl, typ = tvb(2, 1):uint(), tvb(3, 1):uint(), tvb(4, 1):uint(), tvb(5, 1):uint()
  t:add(f.dst, tvb(2, 1)):append_text(" (" .. addr_name(dst) .. ")")
  t:add(f.src, tvb(3, 1)):append_text(" (" .. addr_name(src) .. ")")
  t:add(f.ttl, tvb(4, 1))
  local type_item = t:add(f.type, tvb(5, 1))
  local name = MESSAGE_NAMES[typ]
  if name == nil then
    name = string.format("unknown(%d)", typ)
    type_item:add_proto_expert_info(e.unknown_type, "unknown message type " .. hex2(typ))
  end
  t:add(f.type_name, tvb(5, 1), name)
  local seq = tvb(6, 2):le_uint()
  t:add_le(f.seq, tvb(6, 2))
  if band(flags, 0x02) ~= 0 then t:add_proto_expert_info(e.retransmit) end

  -- The CRC covers bytes 0 … n−5 with the TTL byte taken as 0 (gateways change only the TTL).
  local crc = 0xffffffff
  for i = 0, len - 5 do
    local b = i == 4 and 0 or tvb(i, 1):uint()
    crc = bxor(rshift(crc, 8), CRC32C[band(bxor(crc, b), 0xff)])
  end
  crc = bxor(crc, 0xffffffff)
  local stored = tvb(len - 4, 4):le_uint()

  local body_len = len - 12
  local bt = t:add(f.body, tvb(8, body_len))
  local body_summary = ""
  local body_end, summary = dissect_item(tvb, 8, 8 + body_len, bt, 0, FIELD_NAMES[typ])
  if body_end == nil then
    bt:add_proto_expert_info(e.bad_cbor, "bad_cbor: " .. summary)
  elseif body_end ~= 8 + body_len then
    bt:add_proto_expert_info(e.bad_cbor, string.format("bad_cbor: %d bytes after the item", 8 + body_len - body_end))
  else
    body_summary = " " .. summary
  end
  if typ == 0x7f and body_end ~= nil then
    -- ERROR: key 1 is the code; show its name in the tree and the info column.
    local major, _, arg, hl = cbor_head(tvb, 8, 8 + body_len)
    if major == 5 and arg > 0 and tvb(8 + hl, 1):uint() == 0x01 then
      local cm, _, code, chl = cbor_head(tvb, 9 + hl, 8 + body_len)
      if cm == 0 and type(code) == "number" then
        t:add(f.error_code, tvb(9 + hl, chl), code)
        body_summary = " " .. (ERROR_CODES[code] or ("code " .. code))
      end
    end
  end

  local ci = t:add_le(f.crc, tvb(len - 4, 4))
  local status = stored == crc and 1 or 0
  ci:add(f.crc_status, tvb(len - 4, 4), status):set_generated()
  ci:add(f.crc_computed, tvb(len - 4, 4), crc):set_generated()
  if status == 0 then
    ci:add_proto_expert_info(e.bad_crc, string.format("bad_crc: stored 0x%08x, computed 0x%08x", stored, crc))
  end

  local text = string.format("%s %s → %s seq %d%s%s%s%s", name, addr_name(src), addr_name(dst), seq,
    band(flags, 0x01) ~= 0 and " [response]" or "",
    band(flags, 0x02) ~= 0 and " [retransmit]" or "",
    status == 0 and " [bad CRC]" or "",
    body_summary)
  t:append_text(", " .. text)
  local prev = tostring(pinfo.cols.info)
  pinfo.cols.info:set(prev == "" and text or (prev .. " · " .. text))
  pinfo.cols.src = addr_name(src)
  pinfo.cols.dst = addr_name(dst)
  return len
end

---------------------------------------------------------------------------------------------------
-- UART: one COBS piece as on the wire (§6)

local mcubus_uart = Proto("mcubus_uart", "mcubus UART (COBS)")
local fu = {
  idle = ProtoField.uint8("mcubus_uart.idle_delimiters", "Leading idle delimiters", base.DEC),
  cobs = ProtoField.bytes("mcubus_uart.cobs", "COBS data"),
  length = ProtoField.uint16("mcubus_uart.length", "Decoded length", base.DEC),
  error = ProtoField.string("mcubus_uart.error", "Undecodable"),
}
mcubus_uart.fields = fu
local eu = {
  undecodable = ProtoExpert.new("mcubus_uart.undecodable", "Undecodable UART piece", expert.group.MALFORMED, expert.severity.WARN),
}
mcubus_uart.experts = eu

-- Decodes COBS bytes tvb[from, to) into a ByteArray, or returns nil and the decoder's error code.
local function cobs_decode(tvb, from, to)
  local out = ByteArray.new()
  out:set_size(to - from)
  local w, i = 0, from
  while i < to do
    local code = tvb(i, 1):uint()
    if code == 0 then return nil, "cobs_zero" end
    if i + code > to then return nil, "cobs_overrun" end
    for j = i + 1, i + code - 1 do
      local b = tvb(j, 1):uint()
      if b == 0 then return nil, "cobs_zero" end
      out:set_index(w, b)
      w = w + 1
    end
    i = i + code
    if code < 0xff and i < to then
      out:set_index(w, 0)
      w = w + 1
    end
  end
  out:set_size(w)
  return out
end

function mcubus_uart.dissector(tvb, pinfo, tree)
  local len = tvb:len()
  pinfo.cols.protocol = "mcubus UART"
  local t = tree:add(mcubus_uart, tvb(), "mcubus UART piece")
  local from = 0
  while from < len and tvb(from, 1):uint() == 0 do from = from + 1 end
  if from > 0 then t:add(fu.idle, tvb(0, from), from) end
  local to = from
  while to < len and tvb(to, 1):uint() ~= 0 do to = to + 1 end
  if to == from then return len end
  t:add(fu.cobs, tvb(from, to - from))
  local cut = to == len -- no delimiter: an oversize piece the capture kept only the start of
  local decoded, why = nil, "oversize"
  if not cut then decoded, why = cobs_decode(tvb, from, to) end
  if decoded == nil then
    t:add(fu.error, tvb(from, to - from), why)
    t:add_proto_expert_info(eu.undecodable, "undecodable: " .. why)
    pinfo.cols.info:set("undecodable UART piece: " .. why)
    return len
  end
  t:add(fu.length, tvb(from, to - from), decoded:len()):set_generated()
  mcubus.dissector(decoded:tvb("COBS-decoded frame"), pinfo, tree)
  return len
end

---------------------------------------------------------------------------------------------------
-- Modbus RTU ADU (§8), the FC 0x41 tunnel handing its frame to mcubus

local mcubus_rtu = Proto("mcubus_rtu", "mcubus Modbus RTU")
local FUNCTIONS = {
  [0x03] = "Read Holding Registers", [0x04] = "Read Input Registers", [0x06] = "Write Single Register",
  [0x10] = "Write Multiple Registers", [0x41] = "mcubus tunnel",
}
local EXCEPTIONS = {
  [0x01] = "illegal_function", [0x02] = "illegal_data_address", [0x03] = "illegal_data_value",
  [0x04] = "server_device_failure", [0x05] = "acknowledge", [0x06] = "server_device_busy",
  [0x08] = "memory_parity_error", [0x0a] = "gateway_path_unavailable",
  [0x0b] = "gateway_target_device_failed_to_respond",
}
local fr = {
  address = ProtoField.uint8("mcubus_rtu.address", "Slave address", base.DEC),
  func = ProtoField.uint8("mcubus_rtu.function", "Function", base.HEX, FUNCTIONS, 0x7f),
  exception_flag = ProtoField.bool("mcubus_rtu.exception_flag", "Exception", 8, nil, 0x80),
  exception = ProtoField.uint8("mcubus_rtu.exception", "Exception code", base.HEX, EXCEPTIONS),
  count = ProtoField.uint8("mcubus_rtu.count", "Frame length (N)", base.DEC),
  start = ProtoField.uint16("mcubus_rtu.start", "Start register", base.DEC),
  quantity = ProtoField.uint16("mcubus_rtu.quantity", "Quantity", base.DEC),
  byte_count = ProtoField.uint8("mcubus_rtu.byte_count", "Byte count", base.DEC),
  register = ProtoField.uint16("mcubus_rtu.register", "Register value", base.DEC),
  data = ProtoField.bytes("mcubus_rtu.data", "Data"),
  crc = ProtoField.uint16("mcubus_rtu.crc", "CRC-16", base.HEX),
  crc_status = ProtoField.uint8("mcubus_rtu.crc.status", "CRC status", base.DEC, CRC_STATUS),
}
mcubus_rtu.fields = fr
local er = {
  short = ProtoExpert.new("mcubus_rtu.truncated", "ADU shorter than 4 bytes", expert.group.MALFORMED, expert.severity.ERROR),
  bad_crc = ProtoExpert.new("mcubus_rtu.bad_crc", "CRC-16 mismatch", expert.group.CHECKSUM, expert.severity.ERROR),
  bad_length = ProtoExpert.new("mcubus_rtu.bad_length", "FC 0x41 count does not match the ADU", expert.group.MALFORMED, expert.severity.ERROR),
}
mcubus_rtu.experts = er

function mcubus_rtu.dissector(tvb, pinfo, tree)
  local len = tvb:len()
  pinfo.cols.protocol = "mcubus RTU"
  local t = tree:add(mcubus_rtu, tvb(), "Modbus RTU ADU")
  if len < 4 then
    t:add_proto_expert_info(er.short)
    return len
  end
  local address, fn = tvb(0, 1):uint(), tvb(1, 1):uint()
  local request = pinfo.p2p_dir == 0 -- outbound: the host is the master, so it sent a request
  t:add(fr.address, tvb(0, 1))
  t:add(fr.func, tvb(1, 1))
  t:add(fr.exception_flag, tvb(1, 1))
  local data_len = len - 4
  local base_fn = band(fn, 0x7f)
  local info = string.format("%s slave %d %s", request and "request to" or "response from", address,
    FUNCTIONS[base_fn] or string.format("function 0x%02x", fn))
  if band(fn, 0x80) ~= 0 and data_len >= 1 then
    local code = tvb(2, 1):uint()
    t:add(fr.exception, tvb(2, 1))
    info = info .. " exception " .. (EXCEPTIONS[code] or hex2(code))
  elseif fn == 0x41 and data_len >= 1 then
    local n = tvb(2, 1):uint()
    t:add(fr.count, tvb(2, 1))
    if n + 1 ~= data_len then
      t:add_proto_expert_info(er.bad_length, string.format("count %d but %d bytes follow", n, data_len - 1))
    elseif n == 0 then
      info = info .. " (empty)"
    end
    pinfo.cols.info:set(info)
    if n > 0 and n + 1 == data_len then mcubus.dissector(tvb(3, n):tvb(), pinfo, tree) end
  elseif (base_fn == 0x03 or base_fn == 0x04) and request and data_len == 4 then
    t:add(fr.start, tvb(2, 2))
    t:add(fr.quantity, tvb(4, 2))
  elseif (base_fn == 0x03 or base_fn == 0x04) and data_len >= 1 then
    t:add(fr.byte_count, tvb(2, 1))
    for i = 3, len - 4, 2 do t:add(fr.register, tvb(i, 2)) end
  elseif data_len > 0 then
    t:add(fr.data, tvb(2, data_len))
  end
  if fn ~= 0x41 then pinfo.cols.info:set(info) end

  local crc = 0xffff
  for i = 0, len - 3 do crc = bxor(rshift(crc, 8), CRC16[band(bxor(crc, tvb(i, 1):uint()), 0xff)]) end
  local stored = tvb(len - 2, 2):le_uint()
  local ci = t:add_le(fr.crc, tvb(len - 2, 2))
  ci:add(fr.crc_status, tvb(len - 2, 2), stored == crc and 1 or 0):set_generated()
  if stored ~= crc then
    ci:add_proto_expert_info(er.bad_crc, string.format("bad_crc: stored 0x%04x, computed 0x%04x", stored, crc))
  end
  return len
end

---------------------------------------------------------------------------------------------------
-- CAN: mcubus identifiers (§7.1), ISO-TP PCI (§7.2), reassembly into mcubus frames

local mcubus_can = Proto("mcubus_can", "mcubus ISO-TP on CAN")
local PCI_TYPES = { [0] = "Single frame", [1] = "First frame", [2] = "Consecutive frame", [3] = "Flow control" }
local PCI_SHORT = { [0] = "SF", [1] = "FF", [2] = "CF", [3] = "FC" }
local FLOW_STATUS = { [0] = "CTS", [1] = "WAIT", [2] = "OVERFLOW" }
local fc = {
  can_priority = ProtoField.uint8("mcubus_can.priority", "CAN priority", base.DEC),
  frame_priority = ProtoField.uint8("mcubus_can.frame_priority", "Frame priority", base.DEC, PRIORITY_NAMES),
  pf = ProtoField.uint8("mcubus_can.pf", "PF", base.HEX, { [0xda] = "physical", [0xdb] = "functional" }),
  ta = ProtoField.uint8("mcubus_can.ta", "Target address", base.HEX),
  sa = ProtoField.uint8("mcubus_can.sa", "Source address", base.HEX),
  pci = ProtoField.uint8("mcubus_can.pci", "PCI type", base.DEC, PCI_TYPES),
  length = ProtoField.uint32("mcubus_can.length", "Message length", base.DEC),
  sn = ProtoField.uint8("mcubus_can.sn", "Sequence number", base.DEC),
  fs = ProtoField.uint8("mcubus_can.fs", "Flow status", base.DEC, FLOW_STATUS),
  bs = ProtoField.uint8("mcubus_can.bs", "Block size", base.DEC),
  stmin = ProtoField.uint8("mcubus_can.stmin", "STmin", base.HEX),
  data = ProtoField.bytes("mcubus_can.data", "Message bytes"),
  reassembled = ProtoField.uint32("mcubus_can.reassembled_length", "Reassembled message length", base.DEC),
}
mcubus_can.fields = fc
local ec = {
  invalid = ProtoExpert.new("mcubus_can.invalid_pci", "Invalid ISO-TP PCI", expert.group.MALFORMED, expert.severity.WARN),
  wrong_sn = ProtoExpert.new("mcubus_can.wrong_sn", "Unexpected ISO-TP sequence number", expert.group.SEQUENCE, expert.severity.WARN),
}
mcubus_can.experts = ec

local f_can_id = Field.new("can.id")
local f_can_xtd = Field.new("can.flags.xtd")

-- Reassembly: transfers in progress by CAN id, and the messages completed in each packet. Filled on
-- the first pass (in capture order), read on every later one.
local transfers, completed = {}, {}
function mcubus_can.init()
  transfers, completed = {}, {}
end

local function frame_priority(p)
  if p <= 3 then return 0 elseif p == 4 then return 1 elseif p <= 6 then return 2 else return 3 end
end

local function sf_data(tvb)
  local len = tvb:len()
  local b0 = tvb(0, 1):uint()
  if len > 8 and b0 == 0 and len >= 2 then return 2, tvb(1, 1):uint() end
  return 1, band(b0, 0x0f)
end

local function heuristic(tvb, pinfo, tree)
  local xtd = f_can_xtd()
  local id_field = f_can_id()
  if not xtd or not xtd.value or not id_field or tvb:len() == 0 then return false end
  local id = id_field.value
  local pf = band(rshift(id, 16), 0xff)
  if band(rshift(id, 24), 0x3) ~= 0 or (pf ~= 0xda and pf ~= 0xdb) then return false end
  local pci = rshift(tvb(0, 1):uint(), 4)
  local prio, ta, sa = rshift(id, 26), band(rshift(id, 8), 0xff), band(id, 0xff)

  pinfo.cols.protocol = "mcubus CAN"
  local t = tree:add(mcubus_can, tvb(), "mcubus ISO-TP")
  t:add(fc.can_priority, tvb(0, 0), prio):set_generated()
  t:add(fc.frame_priority, tvb(0, 0), frame_priority(prio)):set_generated()
  t:add(fc.pf, tvb(0, 0), pf):set_generated()
  t:add(fc.ta, tvb(0, 0), ta):set_generated()
  t:add(fc.sa, tvb(0, 0), sa):set_generated()
  pinfo.cols.src = addr_name(sa)
  pinfo.cols.dst = addr_name(ta)
  local info = string.format("%s %s → %s", PCI_SHORT[pci] or "invalid PCI", addr_name(sa), addr_name(ta))
  if pci > 3 then
    t:add_proto_expert_info(ec.invalid, string.format("invalid_pci: high nibble %d", pci))
    pinfo.cols.info:set(info)
    return true
  end
  t:add(fc.pci, tvb(0, 1), pci)
  local len = tvb:len()
  local first_pass = not pinfo.visited
  if pci == 0 then
    local at, n = sf_data(tvb)
    t:add(fc.length, tvb(0, at), n)
    if n > 0 and at + n <= len then
      t:add(fc.data, tvb(at, n))
      if first_pass then completed[pinfo.number] = tvb(at, n):bytes() end
    end
  elseif pci == 1 then
    local n, at = band(tvb(0, 2):uint(), 0x0fff), 2
    if n == 0 and len >= 6 then n, at = tvb(2, 4):uint(), 6 end
    t:add(fc.length, tvb(0, at), n)
    if at < len then t:add(fc.data, tvb(at, len - at)) end
    info = info .. string.format(" length %d", n)
    if first_pass then
      transfers[id] = { total = n, data = at < len and tvb(at, len - at):bytes() or ByteArray.new(), sn = 1 }
    end
  elseif pci == 2 then
    local sn = band(tvb(0, 1):uint(), 0x0f)
    t:add(fc.sn, tvb(0, 1), sn)
    info = info .. string.format(" sn %d", sn)
    if len > 1 then t:add(fc.data, tvb(1, len - 1)) end
    local tr = transfers[id]
    if first_pass and tr then
      if sn ~= tr.sn then
        transfers[id] = nil
        completed[pinfo.number] = false
      else
        local missing = tr.total - tr.data:len()
        local take = math.min(missing, len - 1)
        if take > 0 then tr.data:append(tvb(1, take):bytes()) end
        tr.sn = (tr.sn + 1) % 16
        if tr.data:len() >= tr.total then
          completed[pinfo.number] = tr.data
          transfers[id] = nil
        end
      end
    end
    if completed[pinfo.number] == false then
      t:add_proto_expert_info(ec.wrong_sn, "wrong_sn: transfer abandoned")
    end
  else
    local fs = band(tvb(0, 1):uint(), 0x0f)
    t:add(fc.fs, tvb(0, 1), fs)
    if len >= 2 then t:add(fc.bs, tvb(1, 1)) end
    if len >= 3 then t:add(fc.stmin, tvb(2, 1)) end
    info = info .. " " .. (FLOW_STATUS[fs] or ("fs " .. fs))
  end
  pinfo.cols.info:set(info)
  local message = completed[pinfo.number]
  if message then
    t:add(fc.reassembled, tvb(0, 0), message:len()):set_generated()
    mcubus.dissector(message:tvb("ISO-TP message"), pinfo, tree)
  end
  return true
end

---------------------------------------------------------------------------------------------------
-- Registration

local encap = DissectorTable.get("wtap_encap")
local encaps = wtap_encaps or wtap
encap:add(encaps.USER0, mcubus_uart)
encap:add(encaps.USER1, mcubus_rtu)
mcubus_can:register_heuristic("can", heuristic)
