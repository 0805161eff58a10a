using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Rnnx.Saving;

namespace Rnnx.Tests.Saving.Fuzzing;

/// <summary>
/// A safetensors file taken apart for structure-aware mutation: metadata strings, and each tensor's dtype, shape and
/// bytes. <see cref="Assemble"/> lays the tensors out again (recomputing offsets unless a mutation set them) and
/// recomputes the CRC, so that every defect a mutation introduces reaches the parser instead of the checksum.
/// </summary>
internal sealed class FuzzFile
{
    public sealed class Item(string name, string dtype, JsonNode shape, byte[] data)
    {
        public string Name { get; set; } = name;
        public string DType { get; set; } = dtype;
        public JsonNode Shape { get; set; } = shape;
        public byte[] Data { get; set; } = data;
        public JsonNode? RawOffsets { get; set; }
    }

    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);
    public List<Item> Tensors { get; } = [];
    public byte[] Trailing { get; set; } = [];
    public int? TruncateAt { get; set; }

    /// <summary>Takes apart a valid file.</summary>
    public static FuzzFile From(byte[] bytes)
    {
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, n))!.AsObject();
        var f = new FuzzFile();
        var entries = new List<(long Begin, Item Item)>();
        foreach (var (key, value) in header)
        {
            if (key == "__metadata__")
            {
                foreach (var (mk, mv) in value!.AsObject())
                    if (mk != SafeTensorsFile.ChecksumKey) f.Metadata[mk] = mv!.GetValue<string>();
                continue;
            }
            var o = value!.AsObject();
            long begin = o["data_offsets"]![0]!.GetValue<long>(), end = o["data_offsets"]![1]!.GetValue<long>();
            entries.Add((begin, new Item(key, o["dtype"]!.GetValue<string>(), o["shape"]!.DeepClone(), bytes.AsSpan(8 + n + (int)begin, (int)(end - begin)).ToArray())));
        }
        f.Tensors.AddRange(entries.OrderBy(e => e.Begin).Select(e => e.Item));
        return f;
    }

    public FuzzFile Clone()
    {
        var c = new FuzzFile { Trailing = Trailing, TruncateAt = TruncateAt };
        foreach (var (k, v) in Metadata) c.Metadata[k] = v;
        foreach (var t in Tensors) c.Tensors.Add(new Item(t.Name, t.DType, t.Shape.DeepClone(), t.Data) { RawOffsets = t.RawOffsets?.DeepClone() });
        return c;
    }

    /// <summary>The file's bytes, with a valid checksum over everything but a truncation.</summary>
    public byte[] Assemble()
    {
        var meta = new JsonObject();
        foreach (var (k, v) in Metadata) meta[k] = v;
        meta[SafeTensorsFile.ChecksumKey] = "00000000";
        var header = new JsonObject { ["__metadata__"] = meta };
        long offset = 0;
        using var data = new MemoryStream();
        foreach (var t in Tensors)
        {
            if (header.ContainsKey(t.Name)) continue;   // a renamed tensor that collides: the later one is dropped
            header[t.Name] = new JsonObject
            {
                ["dtype"] = t.DType,
                ["shape"] = t.Shape.DeepClone(),
                ["data_offsets"] = t.RawOffsets?.DeepClone() ?? new JsonArray(offset, offset + t.Data.Length),
            };
            offset += t.Data.Length;
            data.Write(t.Data);
        }
        data.Write(Trailing);
        var bytes = SafeTensorsFile.Assemble(Encoding.UTF8.GetBytes(header.ToJsonString()), data.ToArray());
        return TruncateAt is int cut ? bytes.AsSpan(0, Math.Clamp(cut, 0, bytes.Length)).ToArray() : bytes;
    }
}
