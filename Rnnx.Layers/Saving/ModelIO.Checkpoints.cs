using System.Globalization;
using System.Runtime.InteropServices;
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
    /// <param name="path">The file.</param>
    /// <param name="options">Limits and switches (<see cref="ModelLoadOptions.Default"/> when null).</param>
    /// <exception cref="ModelFormatException">As <see cref="Load"/>, for any file content.</exception>
    public static Checkpoint LoadCheckpoint(string path, ModelLoadOptions? options = null)
    {
        options = Checked(options);
        var loaded = LoadCore(Read(path, options), path, true, options);
        return new Checkpoint(AsSequential(loaded.Model, path), loaded.Epoch, loaded.Metadata);
    }

    /// <summary>
    /// Restores a checkpoint into an existing model of the same architecture, compiled with an optimizer of the saved
    /// type (for example a custom-configured one): weights, optimizer state and shuffle state. Everything is checked
    /// before anything changes.
    /// </summary>
    /// <param name="model">The model (built, or with a declared input shape).</param>
    /// <param name="path">The file.</param>
    /// <param name="options">Limits and switches (<see cref="ModelLoadOptions.Default"/> when null).</param>
    /// <returns>The epochs completed (pass it as <c>initialEpoch</c>).</returns>
    /// <exception cref="ModelFormatException">
    /// The file cannot be read, is malformed, exceeds a limit, holds non-finite values or an invalid optimizer or
    /// training state, or does not match the model or its optimizer (including a file with optimizer state for a model
    /// compiled without a checkpointable optimizer). Raised for any file content; the model is then unchanged.
    /// </exception>
    /// <exception cref="InvalidOperationException">The model is not built and declares no input shape, or a prediction, evaluation or training runs on the model on another thread.</exception>
    public static int RestoreCheckpoint(Model model, string path, ModelLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options = Checked(options);
        return RestoreCore(model, Read(path, options), path, options);
    }

    /// <summary>Restores a checkpoint from the bytes of a file (tests and in-memory use).</summary>
    internal static int RestoreCheckpointFromBytes(Model model, byte[] bytes, string name, ModelLoadOptions? options = null)
    {
        options = Checked(options);
        return RestoreCore(model, Parse(bytes, name, options), name, options);
    }

    private static int RestoreCore(Model model, SafeTensorsFile file, string path, ModelLoadOptions options)
    {
        if (!model.IsBuilt) model.Build();
        using var mutation = model.Access.Mutate(nameof(RestoreCheckpoint), reentrant: true);
        var (pairs, epoch, rng, apply) = Guard(path, () =>
        {
            CheckFormat(file);
            var pairs = MatchWeights(file, model, options);
            var (epoch, rng) = ReadTraining(file, options);
            var compile = ReadCompileJson(file, options);
            Action? apply = null;
            if (compile is not null && OptimizerStateJson(compile) is not null)
            {
                if (model.Optimizer is not ICheckpointableOptimizer opt)
                    throw new ModelFormatException("the checkpoint holds optimizer state; compile the model with an optimizer of the saved type before restoring it");
                var state = ReadOptimizerState(file, model, compile, opt.GetConfig().ClassName, options);
                var parameters = model.NamedWeights().Select(w => w.Parameter).ToList();
                apply = () => opt.SetState(parameters, state);
            }
            else RefuseOptimizerTensors(file, "no optimizer state");
            return (pairs, epoch, rng, apply);
        });
        if (apply is not null)
        {
            try
            {
                apply();
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

    private static OptimizerState ReadOptimizerState(SafeTensorsFile file, Model model, JsonObject compile, string optimizerClass, ModelLoadOptions options)
    {
        var sj = OptimizerStateJson(compile) ?? throw new ModelFormatException("compile: 'optimizer_state' is missing");
        CheckKeys(sj, "optimizer_state", "iterations", "learning_rate", "scalars", "slots");
        var optJson = compile["optimizer"] as JsonObject ?? throw new ModelFormatException("compile: 'optimizer' is missing or not an object");
        string savedClass = OptimizerSerializer.Str(optJson, "class");
        if (savedClass != optimizerClass)
            throw new ModelFormatException($"the file holds the state of a {Clip(savedClass)} optimizer but the model's optimizer is a {optimizerClass}");
        long iterations = OptimizerSerializer.L(sj, "iterations");
        if (iterations is < 0 or > OptimizerState.MaxIterations)
            throw new ModelFormatException($"optimizer_state: iterations is {iterations}; it must be between 0 and {OptimizerState.MaxIterations}");
        double learningRate = OptimizerSerializer.D(sj, "learning_rate");
        if (learningRate < 0) throw new ModelFormatException($"optimizer_state: learning_rate is {learningRate}; it must be non-negative");
        var state = new OptimizerState { Optimizer = savedClass, Iterations = iterations, LearningRate = learningRate };
        if (!sj.TryGetPropertyValue("scalars", out var scalarsNode) || scalarsNode is not JsonObject sc)
            throw new ModelFormatException("optimizer_state: 'scalars' is missing or not an object");
        foreach (var (k, v) in sc)
            state.Scalars[k] = v is JsonValue jv && jv.TryGetValue(out double d) && double.IsFinite(d)
                ? d : throw new ModelFormatException($"optimizer_state: scalar '{Clip(k)}' is not a finite number");
        var slots = (sj["slots"] as JsonArray ?? throw new ModelFormatException("optimizer_state: 'slots' is not an array"))
            .Select(n => n is JsonValue v && v.TryGetValue(out string? s) && !string.IsNullOrEmpty(s) ? s : throw new ModelFormatException("optimizer_state: a slot name is not a non-empty string"))
            .ToList();
        if (slots.Distinct(StringComparer.Ordinal).Count() != slots.Count) throw new ModelFormatException("optimizer_state: a slot is named twice");
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
                CheckValues(file, e, "optimizer slot", options);
                var data = file.Data(e);
                ps.Slots.Add(p.DType == DType.Float32
                    ? new SlotState { Name = slot, Float32 = MemoryMarshal.Cast<byte, float>(data).ToArray() }
                    : new SlotState { Name = slot, Float64 = MemoryMarshal.Cast<byte, double>(data).ToArray() });
            }
            state.Parameters.Add(ps);
        }
        foreach (var t in file.Tensors)
            if (t.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal) && !expected.Contains(t.Name))
                throw new ModelFormatException($"tensor '{t.Name}' is not an optimizer slot of the model (an extra tensor)", offset: file.FileOffset(t));
        return state;
    }

    private static (int? Epoch, MT19937State? Rng) ReadTraining(SafeTensorsFile file, ModelLoadOptions options)
    {
        if (!file.Metadata.TryGetValue(TrainingKey, out var text)) return (null, null);
        var o = GuardedJson.ParseObject(text, "the training state", options.MaxJsonDepth);
        CheckKeys(o, "the training state", "epoch", "shuffle_rng");
        int? epoch = null;
        if (o.TryGetPropertyValue("epoch", out var en))
        {
            if (en is not JsonValue ev || !ev.TryGetValue(out int ei) || ei < 0) throw new ModelFormatException("the training state's epoch is not a non-negative integer");
            epoch = ei;
        }
        MT19937State? rng = null;
        if (o.TryGetPropertyValue("shuffle_rng", out var rn))
        {
            var r = rn as JsonObject ?? throw new ModelFormatException($"the training state's shuffle_rng is {rn?.ToJsonString() ?? "null"}, not an object");
            CheckKeys(r, "the shuffle generator's state", "key", "pos", "has_gauss", "gauss");
            string b64 = OptimizerSerializer.Str(r, "key");
            if (b64.Length > NumPyRandomState.StateLength * 8)
                throw new ModelFormatException($"the shuffle generator's key has {b64.Length} characters; base64 of {NumPyRandomState.StateLength * 4} bytes is shorter");
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
            double gauss = r["gauss"] is JsonValue gv && gv.TryGetValue(out double gd) && double.IsFinite(gd) ? gd : throw new ModelFormatException("the shuffle generator's gauss is not a finite number");
            rng = new MT19937State(key, (int)pos, hasGauss, gauss);
        }
        return (epoch, rng);
    }
}
