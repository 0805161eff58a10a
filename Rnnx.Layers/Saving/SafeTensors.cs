using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Rnnx.Saving;

/// <summary>One tensor entry of a safetensors header: name, dtype, shape and byte range in the data section.</summary>
internal sealed record SafeTensorEntry(string Name, DType DType, int[] Shape, long Begin, long End);

/// <summary>
/// A parsed and structurally validated safetensors file (https://github.com/huggingface/safetensors): an 8-byte
/// little-endian header length N, N bytes of JSON header <c>{name: {dtype, shape, data_offsets}, "__metadata__": {...}}</c>
/// padded with spaces, then the raw little-endian data. Every check is done in <see cref="Parse"/>: header length
/// against the file and a cap (before allocating), JSON syntax, duplicate keys, dtypes (F32 and F64), shapes against
/// byte counts, offsets inside the data section, no overlap, no gap, no trailing bytes, and the CRC-32 in
/// <c>__metadata__["rnnx.crc32"]</c> when present.
/// </summary>
internal sealed class SafeTensorsFile
{
    /// <summary>Largest header accepted (the JSON of a model is a few kilobytes).</summary>
    public const long MaxHeaderLength = 16L << 20;

    /// <summary>Metadata key of the checksum: 8 lowercase hex digits of the CRC-32 of the whole file with those digits as '0'.</summary>
    public const string ChecksumKey = "rnnx.crc32";

    private static readonly byte[] ChecksumPattern = Encoding.UTF8.GetBytes($"\"{ChecksumKey}\":\"");

    private SafeTensorsFile(byte[] bytes, long dataStart, List<SafeTensorEntry> tensors, Dictionary<string, string> metadata, string? path)
    {
        Bytes = bytes;
        DataStart = dataStart;
        Tensors = tensors;
        Metadata = metadata;
        FilePath = path;
        ByName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The whole file.</summary>
    public byte[] Bytes { get; }

    /// <summary>File offset of the data section (8 + header length).</summary>
    public long DataStart { get; }

    /// <summary>Tensors in header order.</summary>
    public List<SafeTensorEntry> Tensors { get; }

    /// <summary>Tensors by name.</summary>
    public Dictionary<string, SafeTensorEntry> ByName { get; }

    /// <summary>The <c>__metadata__</c> map (empty when absent).</summary>
    public Dictionary<string, string> Metadata { get; }

    /// <summary>The file, for messages.</summary>
    public string? FilePath { get; }

    /// <summary>Whether the file carries an <c>rnnx.crc32</c> checksum (verified by <see cref="Parse"/>).</summary>
    public bool HasChecksum => Metadata.ContainsKey(ChecksumKey);

    /// <summary>File offset of a tensor's first byte.</summary>
    public long FileOffset(SafeTensorEntry e) => DataStart + e.Begin;

    /// <summary>The raw little-endian bytes of an entry.</summary>
    public ReadOnlySpan<byte> Data(SafeTensorEntry e) => Bytes.AsSpan(checked((int)(DataStart + e.Begin)), checked((int)(e.End - e.Begin)));

    /// <summary>A heap tensor holding an entry's values.</summary>
    public Tensor ToTensor(SafeTensorEntry e)
    {
        var bytes = Data(e);
        var shape = new Shape(e.Shape);
        return e.DType == DType.Float32
            ? Tensor.FromSpan<float>(MemoryMarshal.Cast<byte, float>(bytes), shape)
            : Tensor.FromSpan<double>(MemoryMarshal.Cast<byte, double>(bytes), shape);
    }

    /// <summary>
    /// Reads and validates a file. The header length is checked against the file size and the limit before the header
    /// is read, and the tensor table against the file size and the limits before the data is read, so a small or
    /// sparse file that declares huge contents costs nothing.
    /// </summary>
    /// <exception cref="ModelFormatException">Any structural problem, or a file that cannot be read (missing, a directory, no permission), naming the file and offset.</exception>
    public static SafeTensorsFile Read(string path, ModelLoadOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Rnnx model files are read on little-endian machines only.");
        if (Directory.Exists(path)) throw new ModelFormatException("the path is a directory, not a model file", path);
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            long length = fs.Length;
            if (length < 8)
                throw new ModelFormatException($"the file is {length} bytes long; a safetensors file starts with an 8-byte header length", path, 0);
            var prefix = new byte[8];
            fs.ReadExactly(prefix);
            int headerLength = CheckHeaderLength(BinaryPrimitives.ReadUInt64LittleEndian(prefix), length, options, path);
            var header = new byte[headerLength];
            fs.ReadExactly(header);
            long dataStart = 8 + headerLength;
            var (tensors, metadata) = ParseHeader(header, dataStart, length - dataStart, options, path);
            if (length > Array.MaxLength)
                throw new ModelFormatException($"the file is {length} bytes long; files over {Array.MaxLength} bytes are not supported", path);
            var bytes = GC.AllocateUninitializedArray<byte>((int)length);
            prefix.CopyTo(bytes, 0);
            header.CopyTo(bytes, 8);
            fs.ReadExactly(bytes.AsSpan((int)dataStart));
            return Finish(bytes, dataStart, tensors, metadata, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ModelFormatException($"the file cannot be read: {e.Message}", path, inner: e);
        }
    }

    private static int CheckHeaderLength(ulong n, long fileLength, ModelLoadOptions options, string? path)
    {
        if (n > (ulong)(fileLength - 8))
            throw new ModelFormatException(
                $"the header length {n} (the first 8 bytes) exceeds the {fileLength - 8} bytes that follow it: the file is truncated or not a safetensors file", path, 0);
        if (n > (ulong)options.MaxMetadataBytes)
            throw new ModelFormatException($"the header length {n} exceeds the limit of {options.MaxMetadataBytes} bytes (ModelLoadOptions.MaxMetadataBytes)", path, 0);
        if (n < 2)
            throw new ModelFormatException($"the header length {n} is too small for a JSON object", path, 0);
        return (int)n;
    }

    /// <summary>Validates a whole file held in memory.</summary>
    /// <exception cref="ModelFormatException">Any structural problem.</exception>
    public static SafeTensorsFile Parse(byte[] bytes, ModelLoadOptions options, string? path = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length < 8)
            throw new ModelFormatException($"the file is {bytes.Length} bytes long; a safetensors file starts with an 8-byte header length", path, 0);
        int headerLength = CheckHeaderLength(BinaryPrimitives.ReadUInt64LittleEndian(bytes), bytes.Length, options, path);
        long dataStart = 8 + headerLength;
        var (tensors, metadata) = ParseHeader(bytes.AsMemory(8, headerLength), dataStart, bytes.Length - dataStart, options, path);
        return Finish(bytes, dataStart, tensors, metadata, path);
    }

    /// <summary>
    /// Validates the header (the JSON tensor table and metadata) against the data section's length and the limits:
    /// every entry, and that the tensors tile the data section exactly.
    /// </summary>
    private static (List<SafeTensorEntry> Tensors, Dictionary<string, string> Metadata) ParseHeader(
        ReadOnlyMemory<byte> header, long dataStart, long dataLength, ModelLoadOptions options, string? path)
    {
        if (header.Span[0] != (byte)'{')
            throw new ModelFormatException($"the header does not start with '{{' (found byte 0x{header.Span[0]:x2})", path, 8);

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8, AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
        }
        catch (JsonException e)
        {
            long? at = e.LineNumber == 0 && e.BytePositionInLine is long p ? 8 + p : null;
            throw new ModelFormatException($"the header is not valid JSON: {FirstSentence(e.Message)}", path, at ?? 8, e);
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException($"the header is not valid UTF-8 JSON: {e.Message}", path, 8, e);
        }

        var tensors = new List<SafeTensorEntry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelFormatException("the header is not a JSON object", path, 8);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            try
            {
                foreach (var prop in doc.RootElement.EnumerateObject())
                {
                    if (!seen.Add(prop.Name))
                        throw new ModelFormatException($"the header names '{prop.Name}' twice", path, 8);
                    if (prop.Name == "__metadata__") ReadMetadata(prop.Value, metadata, path);
                    else tensors.Add(ReadEntry(prop.Name, prop.Value, dataLength, dataStart, path));
                }
            }
            catch (InvalidOperationException e)
            {
                throw new ModelFormatException($"the header holds text that is not valid UTF-8: {e.Message}", path, 8, e);
            }
        }

        // Coverage: sorted by start, the ranges must tile [0, dataLength) exactly.
        var sorted = tensors.OrderBy(t => t.Begin).ThenBy(t => t.End).ToList();
        long pos = 0;
        SafeTensorEntry? prev = null;
        foreach (var t in sorted)
        {
            if (t.Begin < pos)
                throw new ModelFormatException(
                    $"tensors '{prev!.Name}' (data_offsets [{prev.Begin}, {prev.End}]) and '{t.Name}' (data_offsets [{t.Begin}, {t.End}]) overlap",
                    path, dataStart + t.Begin);
            if (t.Begin > pos)
                throw new ModelFormatException(
                    $"bytes {pos} to {t.Begin} of the data section (file offsets {dataStart + pos} to {dataStart + t.Begin}) belong to no tensor", path, dataStart + pos);
            pos = t.End;
            prev = t;
        }
        if (pos != dataLength)
            throw new ModelFormatException(
                $"the data section has {dataLength} bytes but the tensors cover {pos}: {dataLength - pos} trailing bytes belong to no tensor", path, dataStart + pos);
        long weightValues = 0;
        foreach (var t in tensors)
            if (!t.Name.StartsWith(ModelIO.OptimizerPrefix, StringComparison.Ordinal))
                weightValues += (t.End - t.Begin) / (t.DType == DType.Float32 ? 4 : 8);
        if (weightValues > options.MaxParameters)
            throw new ModelFormatException($"the file holds {weightValues} weight values, above the limit of {options.MaxParameters} (ModelLoadOptions.MaxParameters)", path, 8);
        return (tensors, metadata);
    }

    private static SafeTensorsFile Finish(byte[] bytes, long dataStart, List<SafeTensorEntry> tensors, Dictionary<string, string> metadata, string? path)
    {
        var file = new SafeTensorsFile(bytes, dataStart, tensors, metadata, path);
        if (file.HasChecksum) file.VerifyChecksum();
        else if (metadata.Keys.Any(k => k.StartsWith("rnnx.", StringComparison.Ordinal)))
            throw new ModelFormatException($"the file has Rnnx metadata but no '{ChecksumKey}' checksum entry; it is damaged", path, 8);
        return file;
    }

    private static string FirstSentence(string message)
    {
        int i = message.IndexOf(" Path:", StringComparison.Ordinal);
        return i > 0 ? message[..i] : message;
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string? path)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException("__metadata__ is not a JSON object of strings", path, 8);
        foreach (var m in value.EnumerateObject())
        {
            if (m.Value.ValueKind != JsonValueKind.String)
                throw new ModelFormatException($"__metadata__ value '{m.Name}' is not a string", path, 8);
            if (!metadata.TryAdd(m.Name, m.Value.GetString()!))
                throw new ModelFormatException($"__metadata__ names '{m.Name}' twice", path, 8);
        }
    }

    private static SafeTensorEntry ReadEntry(string name, JsonElement value, long dataLength, long dataStart, string? path)
    {
        if (name.Length == 0) throw new ModelFormatException("a tensor has an empty name", path, 8);
        if (value.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException($"tensor '{name}': the entry is not a JSON object", path, 8);
        string? dtypeText = null;
        JsonElement? shapeEl = null, offsetsEl = null;
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in value.EnumerateObject())
        {
            if (!keys.Add(p.Name)) throw new ModelFormatException($"tensor '{name}': key '{p.Name}' appears twice", path, 8);
            switch (p.Name)
            {
                case "dtype":
                    if (p.Value.ValueKind != JsonValueKind.String) throw new ModelFormatException($"tensor '{name}': dtype is not a string", path, 8);
                    dtypeText = p.Value.GetString();
                    break;
                case "shape": shapeEl = p.Value; break;
                case "data_offsets": offsetsEl = p.Value; break;
                default: throw new ModelFormatException($"tensor '{name}': unknown key '{p.Name}' (expected dtype, shape, data_offsets)", path, 8);
            }
        }
        if (dtypeText is null) throw new ModelFormatException($"tensor '{name}': dtype is missing", path, 8);
        if (shapeEl is null) throw new ModelFormatException($"tensor '{name}': shape is missing", path, 8);
        if (offsetsEl is null) throw new ModelFormatException($"tensor '{name}': data_offsets is missing", path, 8);
        var (dtype, size) = dtypeText switch
        {
            "F32" => (DType.Float32, 4),
            "F64" => (DType.Float64, 8),
            "F16" or "BF16" or "F8_E4M3" or "F8_E5M2" or "I8" or "U8" or "I16" or "U16" or "I32" or "U32" or "I64" or "U64" or "BOOL" =>
                throw new ModelFormatException($"tensor '{name}' has dtype {dtypeText}; Rnnx loads F32 and F64 weights only", path, 8),
            _ => throw new ModelFormatException($"tensor '{name}' has unknown dtype '{dtypeText}' (expected F32 or F64)", path, 8),
        };

        var s = shapeEl.Value;
        if (s.ValueKind != JsonValueKind.Array || s.GetArrayLength() > 8)
            throw new ModelFormatException($"tensor '{name}': shape is not an array of at most 8 dimensions", path, 8);
        var shape = new int[s.GetArrayLength()];
        long elements = 1;
        int i = 0;
        foreach (var d in s.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int v) || v < 0)
                throw new ModelFormatException($"tensor '{name}': shape dimension {i} is not a non-negative 32-bit integer", path, 8);
            shape[i++] = v;
            elements = v == 0 || elements == 0 ? 0 : elements > long.MaxValue / 8 / v ? -1 : elements * v;
            if (elements < 0 || elements > int.MaxValue)
                throw new ModelFormatException($"tensor '{name}': shape [{string.Join(", ", shape.Take(i))}...] has more than {int.MaxValue} elements", path, 8);
        }

        var o = offsetsEl.Value;
        if (o.ValueKind != JsonValueKind.Array || o.GetArrayLength() != 2)
            throw new ModelFormatException($"tensor '{name}': data_offsets is not an array [begin, end]", path, 8);
        var oo = new long[2];
        i = 0;
        foreach (var d in o.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long v) || v < 0)
                throw new ModelFormatException($"tensor '{name}': data_offsets[{i}] is not a non-negative integer", path, 8);
            oo[i++] = v;
        }
        long begin = oo[0], end = oo[1];
        if (end < begin)
            throw new ModelFormatException($"tensor '{name}': data_offsets [{begin}, {end}] end before they begin", path, 8);
        if (end > dataLength)
            throw new ModelFormatException(
                $"tensor '{name}': data_offsets [{begin}, {end}] run past the end of the data section ({dataLength} bytes; the file ends at byte {dataStart + dataLength})",
                path, dataStart + Math.Min(begin, dataLength));
        long bytes = elements * size;
        if (end - begin != bytes)
            throw new ModelFormatException(
                $"tensor '{name}': shape [{string.Join(", ", shape)}] {dtypeText} needs {bytes} bytes but data_offsets [{begin}, {end}] hold {end - begin}",
                path, dataStart + begin);
        return new SafeTensorEntry(name, dtype, shape, begin, end);
    }

    private void VerifyChecksum()
    {
        string expected = Metadata[ChecksumKey];
        if (expected.Length != 8 || !uint.TryParse(expected, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint stored)
            || expected != stored.ToString("x8", CultureInfo.InvariantCulture))
            throw new ModelFormatException($"the checksum '{expected}' is not 8 lowercase hex digits", FilePath, 8);
        int at = FindChecksumDigits(Bytes.AsSpan(0, (int)DataStart));
        if (at < 0)
            throw new ModelFormatException("the checksum entry is not written in the canonical form \"rnnx.crc32\":\"xxxxxxxx\"", FilePath, 8);
        uint crc = Crc32.Of(Bytes.AsSpan(0, at), "00000000"u8, Bytes.AsSpan(at + 8));
        if (crc != stored)
            throw new ModelFormatException(
                $"the checksum does not match: the file says {stored:x8} but its contents give {crc:x8}; the file is corrupted", FilePath);
    }

    /// <summary>Index of the 8 checksum digits in the header, or -1 when the key is not present exactly once in canonical form.</summary>
    private static int FindChecksumDigits(ReadOnlySpan<byte> header)
    {
        int first = header.IndexOf(ChecksumPattern);
        if (first < 0) return -1;
        int second = header[(first + 1)..].IndexOf(ChecksumPattern);
        if (second >= 0) return -1;
        int digits = first + ChecksumPattern.Length;
        if (digits + 9 > header.Length || header[digits + 8] != (byte)'"') return -1;
        return digits;
    }

    // ------------------------------------------------------------------ writing

    /// <summary>
    /// Serializes tensors (in the given order, contiguous) and metadata into a safetensors file with an
    /// <c>rnnx.crc32</c> checksum. The header is compact JSON, padded with spaces to a multiple of 8 bytes.
    /// </summary>
    public static byte[] Write(IReadOnlyList<(string Name, Tensor Value)> tensors, IReadOnlyDictionary<string, string> metadata, bool checksum = true)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Rnnx model files are written on little-endian machines only.");
        var names = new HashSet<string>(StringComparer.Ordinal);
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (metadata.Count > 0 || checksum)
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata)
                    if (k != ChecksumKey) w.WriteString(k, v);
                if (checksum) w.WriteString(ChecksumKey, "00000000");
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, t) in tensors)
            {
                if (name == "__metadata__" || !names.Add(name)) throw new ArgumentException($"Tensor name '{name}' is reserved or used twice.", nameof(tensors));
                long size = (long)t.Size * (t.DType == DType.Float32 ? 4 : 8);
                w.WriteStartObject(name);
                w.WriteString("dtype", t.DType == DType.Float32 ? "F32" : "F64");
                w.WriteStartArray("shape");
                for (int i = 0; i < t.Rank; i++) w.WriteNumberValue(t.Shape[i]);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + size);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += size;
            }
            w.WriteEndObject();
        }
        var data = new ArrayBufferWriter<byte>();
        foreach (var (_, t) in tensors)
        {
            if (t.DType == DType.Float32) data.Write(MemoryMarshal.AsBytes(t.AsSpan<float>()));
            else data.Write(MemoryMarshal.AsBytes(t.AsSpan<double>()));
        }
        return Assemble(buffer.WrittenSpan, data.WrittenSpan, checksum);
    }

    /// <summary>
    /// Prefix + header (padded with spaces to a multiple of 8) + data; when <paramref name="fixChecksum"/> is set and the
    /// header holds the checksum entry, its digits are computed and written. Used by <see cref="Write"/> and by tests
    /// that craft files.
    /// </summary>
    internal static byte[] Assemble(ReadOnlySpan<byte> headerJson, ReadOnlySpan<byte> data, bool fixChecksum = true)
    {
        int padded = (headerJson.Length + 7) / 8 * 8;
        var bytes = new byte[8 + padded + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        headerJson.CopyTo(bytes.AsSpan(8));
        bytes.AsSpan(8 + headerJson.Length, padded - headerJson.Length).Fill((byte)' ');
        data.CopyTo(bytes.AsSpan(8 + padded));
        if (fixChecksum)
        {
            int at = FindChecksumDigits(bytes.AsSpan(0, 8 + padded));
            if (at >= 0)
            {
                "00000000"u8.CopyTo(bytes.AsSpan(at));
                uint crc = Crc32.Of(bytes);
                Encoding.ASCII.GetBytes(crc.ToString("x8", CultureInfo.InvariantCulture)).CopyTo(bytes.AsSpan(at));
            }
        }
        return bytes;
    }
}
