using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Rnnx.Losses;
using Rnnx.Metrics;
using Rnnx.Models;
using Rnnx.Optimization;
using Rnnx.Random;

namespace Rnnx.Saving;


public static partial class ModelIO
{
    /// <summary>Loads a checkpoint (a file written by <see cref="Save"/> with an epoch, e.g. by <see cref="ModelCheckpoint"/>).</summary>
    /// <exception cref="ModelFormatException">As <see cref="Load"/>.</exception>
    public static Checkpoint LoadCheckpoint(string path) => LoadCore(Read(path), path, true);

    /// <summary>
    /// Restores a checkpoint into an existing model of the same architecture, compiled with an optimizer of the saved
    /// type (for example a custom-configured one): weights, optimizer state and shuffle state. Everything is checked
    /// before anything changes.
    /// </summary>
    /// <returns>The epochs completed (pass it as <c>initialEpoch</c>).</returns>
    /// <exception cref="ModelFormatException">The file is malformed or does not match the model or its optimizer.</exception>
    /// <exception cref="InvalidOperationException">The file holds optimizer state but the model's optimizer cannot restore state (it is not an <see cref="ICheckpointableOptimizer"/>), or a prediction, evaluation or training runs on the model on another thread.</exception>
    public static int RestoreCheckpoint(Sequential model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        return RestoreCore(model, Read(path), path);
    }

    /// <summary>Restores a checkpoint from the bytes of a file (tests and in-memory use).</summary>
    internal static int RestoreCheckpointFromBytes(Sequential model, byte[] bytes, string name) => RestoreCore(model, Parse(bytes, name), name);

    private static int RestoreCore(Sequential model, SafeTensorsFile file, string path)
    {
        if (!model.IsBuilt) model.Build();
        using var mutation = model.Access.Mutate(nameof(RestoreCheckpoint), reentrant: true);
        var pairs = Guard(path, () => MatchWeights(file, model));
        var (epoch, rng) = Guard(path, () => ReadTraining(file));
        var compile = Guard(path, () => ReadCompileJson(file));
        if (compile?["optimizer_state"] is JsonObject)
        {
            if (model.Optimizer is not ICheckpointableOptimizer opt)
                throw new InvalidOperationException($"{path}: the checkpoint holds optimizer state; compile the model with an optimizer of the saved type before restoring it.");
            var state = Guard(path, () => ReadOptimizerState(file, model, compile, opt.GetConfig().ClassName));
            try
            {
                opt.SetState(model.NamedWeights().Select(w => w.Parameter).ToList(), state);
            }
            catch (ArgumentException e)
            {
                throw new ModelFormatException($"the optimizer state does not fit the model's optimizer: {e.Message}", path, inner: e);
            }
        }
        foreach (var (p, e) in pairs) p.Assign(file.ToTensor(e));
        if (rng is not null) model.ShuffleRngState = rng;
        return epoch ?? 0;
    }

    private static OptimizerState ReadOptimizerState(SafeTensorsFile file, Sequential model, JsonObject compile, string optimizerClass)
    {
        var sj = compile["optimizer_state"] as JsonObject ?? throw new ModelFormatException("compile: 'optimizer_state' is not an object");
        var optJson = compile["optimizer"] as JsonObject ?? throw new ModelFormatException("compile: 'optimizer' is missing");
        string savedClass = OptimizerSerializer.Str(optJson, "class");
        if (savedClass != optimizerClass)
            throw new ModelFormatException($"the file holds the state of a {savedClass} optimizer but the model's optimizer is a {optimizerClass}");
        long iterations = OptimizerSerializer.L(sj, "iterations");
        if (iterations < 0) throw new ModelFormatException($"optimizer_state: iterations is {iterations}");
        var state = new OptimizerState
        {
            Optimizer = savedClass,
            Iterations = iterations,
            LearningRate = OptimizerSerializer.D(sj, "learning_rate"),
        };
        if (sj["scalars"] is JsonObject sc)
            foreach (var (k, v) in sc)
                state.Scalars[k] = v is JsonValue jv && jv.TryGetValue(out double d) ? d : throw new ModelFormatException($"optimizer_state: scalar '{k}' is not a number");
        var slots = (sj["slots"] as JsonArray ?? throw new ModelFormatException("optimizer_state: 'slots' is not an array"))
            .Select(n => n is JsonValue v && v.TryGetValue(out string? s) && s is not null ? s : throw new ModelFormatException("optimizer_state: a slot name is not a string"))
            .ToList();
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, p) in model.NamedWeights())
        {
            var ps = new ParameterState { Name = name, DType = p.DType, Shape = p.Shape.ToArray() };
            foreach (var slot in slots)
            {
                string tn = $"{OptimizerPrefix}{name}/{slot}";
                expected.Add(tn);
                if (!file.ByName.TryGetValue(tn, out var e))
                    throw new ModelFormatException($"the optimizer slot tensor '{tn}' is missing");
                if (e.DType != p.DType || !e.Shape.AsSpan().SequenceEqual(p.Shape.ToArray()))
                    throw new ModelFormatException($"the optimizer slot tensor '{tn}' is {Dt(e.DType)} {ShapeText(e.Shape)}, not {Dt(p.DType)} {ShapeText(p.Shape.ToArray())} like its weight", offset: 8);
                var t = file.ToTensor(e);
                ps.Slots.Add(p.DType == DType.Float32 ? new SlotState { Name = slot, Float32 = t.ToFloatArray() } : new SlotState { Name = slot, Float64 = t.ToDoubleArray() });
            }
            state.Parameters.Add(ps);
        }
        foreach (var t in file.Tensors)
            if (t.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal) && !expected.Contains(t.Name))
                throw new ModelFormatException($"tensor '{t.Name}' is not an optimizer slot of the model (an extra tensor)", offset: file.FileOffset(t));
        return state;
    }

    private static (int? Epoch, MT19937State? Rng) ReadTraining(SafeTensorsFile file)
    {
        if (!file.Metadata.TryGetValue(TrainingKey, out var text)) return (null, null);
        JsonObject o;
        try
        {
            o = JsonNode.Parse(text) as JsonObject ?? throw new ModelFormatException("the training state is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"the training state is not valid JSON: {e.Message}", inner: e);
        }
        int? epoch = null;
        if (o.TryGetPropertyValue("epoch", out var en))
        {
            if (en is not JsonValue ev || !ev.TryGetValue(out int ei) || ei < 0) throw new ModelFormatException("the training state's epoch is not a non-negative integer");
            epoch = ei;
        }
        MT19937State? rng = null;
        if (o["shuffle_rng"] is JsonObject r)
        {
            string b64 = OptimizerSerializer.Str(r, "key");
            byte[] bytes;
            try { bytes = Convert.FromBase64String(b64); }
            catch (FormatException) { throw new ModelFormatException("the shuffle generator's key is not base64"); }
            if (bytes.Length != NumPyRandomState.StateLength * 4)
                throw new ModelFormatException($"the shuffle generator's key has {bytes.Length} bytes, not {NumPyRandomState.StateLength * 4}");
            var key = new uint[NumPyRandomState.StateLength];
            Buffer.BlockCopy(bytes, 0, key, 0, bytes.Length);
            long pos = OptimizerSerializer.L(r, "pos");
            if (pos is < 0 or > NumPyRandomState.StateLength) throw new ModelFormatException($"the shuffle generator's position {pos} is outside [0, {NumPyRandomState.StateLength}]");
            bool hasGauss = r["has_gauss"] is JsonValue hv && hv.TryGetValue(out bool hb) ? hb : throw new ModelFormatException("the shuffle generator's has_gauss is not true/false");
            double gauss = r["gauss"] is JsonValue gv && gv.TryGetValue(out double gd) ? gd : throw new ModelFormatException("the shuffle generator's gauss is not a number");
            rng = new MT19937State(key, (int)pos, hasGauss, gauss);
        }
        return (epoch, rng);
    }
}
