extension RedisStore {
    /// Every write the store makes, as one Lua script with an operation name as
    /// its first argument, so each write is atomic with its index and counter
    /// updates and Redis loads one script.
    ///
    /// Keys are built inside the script from the prefix (ARGV[2]), which
    /// standalone Redis allows; Redis Cluster would need every key declared,
    /// and is not supported.
    ///
    /// Operations:
    /// - `set hex expireAtMs|'' createdMs namespace weight raw semantic(0|1) sender feedLength ntags tags... field value ...`
    /// - `del hex sender feedLength` → 1 if an entry was removed
    ///
    /// `set` and `del` append to the semantic feed (`P semantic`, trimmed to
    /// about `feedLength` messages; 0 writes nothing): `add` when the entry
    /// stored has a semantic record, `del` when an entry that had one is
    /// deleted or replaced by one without. Writing both in one script keeps
    /// the feed from ever disagreeing with the entries.
    /// - `batch mode arg indexKey indexKind hex...` (mode `model`: hex model pairs)
    ///   → {removed, kept}; at most one batch of entries, so Redis is never
    ///   blocked for long
    /// - `reap limit` → how many expired entries were settled
    /// - `prune namespace` → drops the namespace from the registry when it is empty
    static let script = """
    local op, p = ARGV[1], ARGV[2]
    local stats, created, exp, expmeta = p .. 'stats', p .. 'created', p .. 'exp', p .. 'expmeta'

    -- Counter changes are summed here and written once per script call,
    -- keeping each batch's Redis time down.
    local delta = {entries = 0, stored = 0, raw = 0, expired = 0}
    local function account(entries, stored, raw)
      delta.entries = delta.entries + entries
      delta.stored = delta.stored + stored
      delta.raw = delta.raw + raw
    end
    local function flush()
      for field, change in pairs(delta) do
        if change ~= 0 then redis.call('HINCRBY', stats, field, change) end
      end
    end

    -- Removals from indexes and entry keys are gathered here and applied by
    -- commit(), one SREM/ZREM/HDEL/UNLINK per key with many members, rather
    -- than one call per entry: most of a batch's Redis time was per-call
    -- overhead. `gone` holds the entries gathered so far, so an entry named
    -- twice in one call is removed (and counted) once.
    local pending, gone = {}, {}
    local function later(command, key, member)
      local byKey = pending[command]
      if not byKey then byKey = {}; pending[command] = byKey end
      local members = byKey[key]
      if not members then members = {}; byKey[key] = members end
      members[#members + 1] = member
    end
    local function commit()
      for command, byKey in pairs(pending) do
        for key, members in pairs(byKey) do
          -- unpack() is bounded by the Lua stack; 1000 arguments a call is safe.
          for i = 1, #members, 1000 do
            local last = math.min(i + 999, #members)
            if command == 'UNLINK' then
              redis.call('UNLINK', unpack(members, i, last))
            else
              redis.call(command, key, unpack(members, i, last))
            end
          end
        end
      end
      pending, gone = {}, {}
    end

    -- Removes the entry `hex`, whose hash `ek` holds `m` = HMGET n w r x
    -- (m[1] false: no entry).
    local function removeFetched(hex, ek, m)
      if not m[1] or gone[hex] then return 0 end
      gone[hex] = true
      for _, f in ipairs(redis.call('HKEYS', ek)) do
        if string.byte(f, 1) == 116 and string.byte(f, 2) == 58 then later('SREM', p .. 'tag:' .. string.sub(f, 3), hex) end
      end
      later('SREM', p .. 'ns:' .. m[1], hex)
      later('UNLINK', '', ek)
      later('ZREM', created, hex)
      if m[4] then
        later('ZREM', exp, hex)
        later('HDEL', expmeta, hex)
      end
      account(-1, -tonumber(m[2]), -tonumber(m[3]))
      return 1
    end

    local function remove(hex)
      local ek = p .. 'e:' .. hex
      return removeFetched(hex, ek, redis.call('HMGET', ek, 'n', 'w', 'r', 'x'))
    end

    local function settle(hex)
      if gone[hex] then return 0 end
      later('ZREM', created, hex)
      local packed = redis.call('HGET', expmeta, hex)
      if not packed then return 0 end
      gone[hex] = true
      local meta = cmsgpack.unpack(packed)
      account(-1, -meta[1], -meta[2])
      later('SREM', p .. 'ns:' .. meta[3], hex)
      for i = 4, #meta do later('SREM', p .. 'tag:' .. meta[i], hex) end
      later('HDEL', expmeta, hex)
      later('ZREM', exp, hex)
      delta.expired = delta.expired + 1
      return 1
    end

    local function feed(sender, length, kind, hex)
      if length ~= '0' then
        redis.call('XADD', p .. 'semantic', 'MAXLEN', '~', length, '*', 'op', kind, 'from', sender, 'k', hex)
      end
    end

    local function reap(limit)
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local due = redis.call('ZRANGEBYSCORE', exp, '-inf', now, 'LIMIT', 0, limit)
      for _, hex in ipairs(due) do
        local ek = p .. 'e:' .. hex
        local m = redis.call('HMGET', ek, 'n', 'w', 'r', 'x')
        if m[1] then
          if removeFetched(hex, ek, m) == 1 then delta.expired = delta.expired + 1 end
        else
          settle(hex)
        end
      end
      return #due
    end

    if op == 'set' then
      -- Redis at maxmemory with noeviction refuses a script's commands that
      -- grow memory (OOM) only until the script has written anything (so as
      -- not to leave it half done); after the removals below, every HSET
      -- would go through. A growing write first makes a set under OOM fail
      -- whole, before it has changed anything.
      redis.call('HINCRBY', stats, 'entries', 0)
      local hex, expireAt, ns = ARGV[3], ARGV[4], ARGV[6]
      local weight, raw, ntags = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[12])
      local ek = p .. 'e:' .. hex
      local hadVector = ARGV[11] ~= '0' and redis.call('HEXISTS', ek, 's') == 1
      if remove(hex) == 0 then settle(hex) end
      -- The entry's old index memberships go before its new ones are added.
      commit()
      local fields, meta = {}, {weight, raw, ns}
      for i = 13, 12 + ntags do
        fields[#fields + 1] = 't:' .. ARGV[i]
        fields[#fields + 1] = ''
        meta[#meta + 1] = ARGV[i]
        redis.call('SADD', p .. 'tag:' .. ARGV[i], hex)
      end
      for i = 13 + ntags, #ARGV do fields[#fields + 1] = ARGV[i] end
      redis.call('HSET', ek, unpack(fields))
      redis.call('SADD', p .. 'ns:' .. ns, hex)
      redis.call('SADD', p .. 'nss', ns)
      redis.call('ZADD', created, ARGV[5], hex)
      if expireAt ~= '' then
        redis.call('PEXPIREAT', ek, expireAt)
        redis.call('ZADD', exp, expireAt, hex)
        redis.call('HSET', expmeta, hex, cmsgpack.pack(meta))
      end
      account(1, weight, raw)
      if ARGV[9] == '1' then feed(ARGV[10], ARGV[11], 'add', hex) elseif hadVector then feed(ARGV[10], ARGV[11], 'del', hex) end
      reap(8)
      commit()
      flush()
      return 1
    elseif op == 'del' then
      local hadVector = ARGV[5] ~= '0' and redis.call('HEXISTS', p .. 'e:' .. ARGV[3], 's') == 1
      local removed = remove(ARGV[3])
      if removed == 0 then settle(ARGV[3]) end
      -- The removals first: being writes that free memory, they run under
      -- OOM, and once they have, the feed's XADD does too.
      commit()
      if hadVector then feed(ARGV[4], ARGV[5], 'del', ARGV[3]) end
      flush()
      return removed
    elseif op == 'batch' then
      local mode, arg, index, kind = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
      local step = 1
      if mode == 'model' then step = 2 end
      -- The field each mode checks, fetched with the ones removal needs.
      local check = 'n'
      if mode == 'tag' then check = 't:' .. arg
      elseif mode == 'before' then check = 'c'
      elseif mode == 'model' then check = 'o' end
      local removed, kept = 0, 0
      for i = 7, #ARGV, step do
        local hex = ARGV[i]
        if not gone[hex] then
          local ek = p .. 'e:' .. hex
          local m = redis.call('HMGET', ek, 'n', 'w', 'r', 'x', check)
          if not m[1] then
            settle(hex)
            if kind == 'set' then later('SREM', index, hex) elseif kind == 'zset' then later('ZREM', index, hex) end
          else
            local ok = false
            if mode == 'any' then ok = true
            elseif mode == 'tag' then ok = m[5] ~= false
            elseif mode == 'ns' then ok = m[1] == arg
            elseif mode == 'before' then ok = m[5] < arg
            elseif mode == 'model' then ok = m[5] == ARGV[i + 1] and m[1] == arg
            end
            if ok then
              removed = removed + removeFetched(hex, ek, m)
            else
              kept = kept + 1
              if kind == 'set' and (mode == 'tag' or mode == 'ns') then later('SREM', index, hex) end
            end
          end
        end
      end
      commit()
      flush()
      return {removed, kept}
    elseif op == 'reap' then
      local settled = reap(tonumber(ARGV[3]))
      commit()
      flush()
      return settled
    elseif op == 'prune' then
      if redis.call('SCARD', p .. 'ns:' .. ARGV[3]) == 0 then redis.call('SREM', p .. 'nss', ARGV[3]) end
      return 0
    end
    return redis.error_reply('ERR unknown llmcache script operation ' .. tostring(op))
    """
}
