using System.Globalization;
using System.Text.Json.Nodes;
using Rnnx.Saving;

namespace Rnnx.Models;

/// <summary>
/// A callback whose state (counters, best value, best weights) a checkpoint carries, so that training resumed from it
/// (<c>Fit(..., initialEpoch: checkpoint.Epoch)</c>) continues bit-exactly, early stopping and learning-rate
/// reductions included. <see cref="ModelCheckpoint.States"/> saves it in every checkpoint;
/// <see cref="CheckpointedCallbacks.Restore"/> puts it back.
/// </summary>
public interface ICheckpointedCallback
{
    /// <summary>The name of the state in a checkpoint's metadata (the key is <see cref="CheckpointedCallbacks.KeyPrefix"/> + this).</summary>
    string StateKey { get; }

    /// <summary>The state as JSON.</summary>
    string SaveState();

    /// <summary>
    /// Takes the state back (used from the next <c>Fit</c>'s start instead of a fresh one); checked against
    /// <paramref name="model"/>'s weights before anything changes.
    /// </summary>
    /// <exception cref="FormatException">The state is malformed or does not fit the model (the message says why).</exception>
    void RestoreState(string state, Model model);
}

/// <summary>Saving and restoring the states of <see cref="ICheckpointedCallback"/>s in checkpoint metadata.</summary>
public static class CheckpointedCallbacks
{
    /// <summary>The prefix of the metadata keys holding callback states.</summary>
    public const string KeyPrefix = "rnnx.callback.";

    /// <summary>
    /// The most text the states of one checkpoint may take (8 MiB: half the file format's metadata limit, which also
    /// holds the architecture and optimizer settings). Best weights take about 4/3 of their bytes.
    /// </summary>
    public const long MaxStateChars = 8L << 20;

    /// <summary>About how much text an <see cref="EarlyStopping"/> state with best weights takes for <paramref name="model"/> (for checking before training).</summary>
    public static long EstimatedStateChars(Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        long bytes = model.NamedWeights().Sum(w => (long)w.Parameter.Shape.Size * (w.Parameter.DType == DType.Float64 ? 8 : 4));
        return (bytes + 2) / 3 * 4 + 1024;
    }

    /// <summary>The metadata entries holding the states of <paramref name="callbacks"/>.</summary>
    /// <exception cref="InvalidOperationException">The states exceed <see cref="MaxStateChars"/> (nothing is written).</exception>
    public static Dictionary<string, string> Save(IEnumerable<ICheckpointedCallback> callbacks)
    {
        ArgumentNullException.ThrowIfNull(callbacks);
        var d = new Dictionary<string, string>();
        foreach (var c in callbacks) d[KeyPrefix + c.StateKey] = c.SaveState();
        long total = d.Values.Sum(v => (long)v.Length);
        if (total > MaxStateChars)
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"the callback states take {total} characters, more than a checkpoint holds ({MaxStateChars}); the model is too large to checkpoint its best weights (drop restoreBestWeights or the callback from ModelCheckpoint.States)."));
        return d;
    }

    /// <summary>
    /// Restores each callback whose state <paramref name="metadata"/> (a checkpoint's, <see cref="Checkpoint.Metadata"/>)
    /// holds; returns how many were restored. A callback without a saved state keeps starting fresh.
    /// </summary>
    /// <exception cref="FormatException">A saved state is malformed or does not fit the model (the key is named).</exception>
    public static int Restore(IReadOnlyDictionary<string, string> metadata, Model model, IEnumerable<ICheckpointedCallback> callbacks)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(callbacks);
        int restored = 0;
        foreach (var c in callbacks)
        {
            if (!metadata.TryGetValue(KeyPrefix + c.StateKey, out var state)) continue;
            try
            {
                c.RestoreState(state, model);
            }
            catch (FormatException e)
            {
                throw new FormatException($"checkpoint metadata '{KeyPrefix}{c.StateKey}': {e.Message}", e);
            }
            restored++;
        }
        return restored;
    }

    internal static JsonObject Parse(string state)
    {
        try
        {
            return GuardedJson.ParseObject(state, "the callback state", 8);
        }
        catch (ModelFormatException e)
        {
            throw new FormatException(e.Message, e);
        }
    }

    internal static int Int(JsonObject o, string key, int min = 0) =>
        o[key] is JsonValue v && v.TryGetValue(out int i) && i >= min ? i : throw new FormatException($"'{key}' is not an integer of at least {min}");

    /// <summary>A double saved as its round-trip text, so infinities (the best value before any epoch) survive JSON.</summary>
    internal static double Real(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue(out string? s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && !double.IsNaN(d)
            ? d : throw new FormatException($"'{key}' is not a number");

    internal static string RealText(double d) => d.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Weights as JSON: one entry per weight with dtype, shape and base64 little-endian data.</summary>
    internal static JsonArray WeightsJson(Tensor[] weights) => new(weights.Select(w => (JsonNode?)new JsonObject
    {
        ["dtype"] = w.DType == DType.Float64 ? "float64" : "float32",
        ["shape"] = new JsonArray(w.Shape.ToArray().Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
        ["data"] = Convert.ToBase64String(w.DType == DType.Float64
            ? System.Runtime.InteropServices.MemoryMarshal.AsBytes(w.ToDoubleArray().AsSpan()).ToArray()
            : System.Runtime.InteropServices.MemoryMarshal.AsBytes(w.ToFloatArray().AsSpan()).ToArray()),
    }).ToArray());

    /// <summary>Weights read back from <see cref="WeightsJson"/>, checked against the model's weights (count, dtype, shape, finite values).</summary>
    internal static Tensor[] ReadWeights(JsonNode? node, Model model)
    {
        if (node is not JsonArray a) throw new FormatException("'best_weights' is not an array");
        var current = model.GetWeights();
        if (a.Count != current.Length) throw new FormatException($"'best_weights' holds {a.Count} weights; the model has {current.Length}");
        var result = new Tensor[a.Count];
        for (int i = 0; i < a.Count; i++)
        {
            var w = a[i] as JsonObject ?? throw new FormatException($"best weight {i} is not an object");
            string dtype = w["dtype"] is JsonValue dv && dv.TryGetValue(out string? ds) ? ds : "";
            var want = current[i];
            string wantType = want.DType == DType.Float64 ? "float64" : "float32";
            var shape = (w["shape"] as JsonArray)?.Select(n => n is JsonValue v && v.TryGetValue(out int d) ? d : -1).ToArray();
            if (dtype != wantType || shape is null || !shape.AsSpan().SequenceEqual(want.Shape.ToArray()))
                throw new FormatException($"best weight {i} is {dtype} [{string.Join(", ", shape ?? [])}]; the model's is {wantType} [{string.Join(", ", want.Shape.ToArray())}]");
            byte[] bytes;
            try { bytes = Convert.FromBase64String(w["data"] is JsonValue bv && bv.TryGetValue(out string? b) ? b : ""); }
            catch (FormatException) { throw new FormatException($"best weight {i}'s data is not base64"); }
            int size = want.Shape.Size;
            if (bytes.Length != size * (want.DType == DType.Float64 ? 8 : 4)) throw new FormatException($"best weight {i} has {bytes.Length} bytes of data; {size} values expected");
            if (want.DType == DType.Float64)
            {
                var v = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(bytes).ToArray();
                if (v.Any(x => !double.IsFinite(x))) throw new FormatException($"best weight {i} holds a non-finite value");
                result[i] = Tensor.FromSpan<double>(v, want.Shape);
            }
            else
            {
                var v = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();
                if (v.Any(x => !float.IsFinite(x))) throw new FormatException($"best weight {i} holds a non-finite value");
                result[i] = Tensor.FromSpan<float>(v, want.Shape);
            }
        }
        return result;
    }
}
