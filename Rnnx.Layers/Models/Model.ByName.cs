using Rnnx.Layers;

namespace Rnnx.Models;

/// <summary>
/// Keras's dict form of a functional model's data: inputs keyed by the name of their <see cref="Input"/>, targets and
/// sample weights keyed by the name of their output's layer (keras/src/models/functional.py, _standardize_inputs; and
/// keras/src/trainers/compile_utils.py, which flattens target dicts by output name). Each call orders the dict into the
/// lists the list overloads take, refusing unknown and missing names.
/// </summary>
public partial class Model
{
    private System.Collections.ObjectModel.ReadOnlyCollection<string>? _inputNames, _outputNames;

    /// <summary>A functional model's input names, the keys of dict inputs: each <see cref="Input"/>'s name (empty for a <see cref="Sequential"/> model).</summary>
    public IReadOnlyList<string> InputNames => CurrentNames(ref _inputNames, _functional?.Inputs);

    /// <summary>
    /// A functional model's output names, the keys of dict targets, sample weights, losses and metrics: the name of the
    /// layer that computes each output, as Keras (empty for a <see cref="Sequential"/> model).
    /// </summary>
    public IReadOnlyList<string> OutputNames => CurrentNames(ref _outputNames, _functional?.Outputs);

    /// <summary>The layers' names of <paramref name="tensors"/>, from <paramref name="cache"/> unless a layer was renamed since (checked without allocating).</summary>
    private static IReadOnlyList<string> CurrentNames(ref System.Collections.ObjectModel.ReadOnlyCollection<string>? cache, IReadOnlyList<SymbolicTensor>? tensors)
    {
        if (tensors is null) return [];
        bool fresh = cache is not null && cache.Count == tensors.Count;
        for (int i = 0; fresh && i < tensors.Count; i++) fresh = cache![i] == tensors[i].Layer.Name;
        if (!fresh) cache = Array.AsReadOnly(tensors.Select(t => t.Layer.Name).ToArray());
        return cache!;
    }

    /// <summary>
    /// Trains on dicts (Keras's <c>fit({"series": ..., "statics": ...}, {"out_a": ..., "out_b": ...})</c>): the inputs keyed
    /// by <see cref="InputNames"/>, the targets (and optional sample weights and validation data) keyed by
    /// <see cref="OutputNames"/>. Otherwise as <see cref="Fit(IReadOnlyList{Tensor}, IReadOnlyList{Tensor}, int, int, bool, ValueTuple{IReadOnlyList{Tensor}, IReadOnlyList{Tensor}}?, IEnumerable{Callback}?, int, int, IReadOnlyList{Tensor?}?, IReadOnlyDictionary{int, double}?)"/>.
    /// </summary>
    /// <param name="x">One tensor per input, keyed by input name.</param>
    /// <param name="y">One target per output, keyed by output name.</param>
    /// <param name="epochs">Number of epochs.</param>
    /// <param name="batchSize">Batch size.</param>
    /// <param name="shuffle">Shuffle each epoch.</param>
    /// <param name="validationData">Optional (inputs, targets) dicts evaluated after each epoch.</param>
    /// <param name="callbacks">Optional callbacks.</param>
    /// <param name="verbose">0 silent, 1 one line per epoch on the console.</param>
    /// <param name="initialEpoch">Epoch to start from (for resuming).</param>
    /// <param name="sampleWeight">Optional per-sample loss weights keyed by output name; every output must be named.</param>
    /// <param name="classWeight">Optional weight per class; only for a model with a single output (as Keras 3).</param>
    /// <returns>Per-epoch loss, metrics and validation values.</returns>
    /// <exception cref="ArgumentException">A name that is not an input or output of the model, a missing one (the message lists the model's names), a Sequential model, or bad data.</exception>
    /// <exception cref="InvalidOperationException">Not compiled, or another call runs on this model on another thread.</exception>
    /// <exception cref="TrainingDivergedException">A non-finite loss or gradient; the weights are those before that step.</exception>
    public History Fit(IReadOnlyDictionary<string, Tensor> x, IReadOnlyDictionary<string, Tensor> y, int epochs = 1, int batchSize = 32, bool shuffle = true,
        (IReadOnlyDictionary<string, Tensor> X, IReadOnlyDictionary<string, Tensor> Y)? validationData = null, IEnumerable<Callback>? callbacks = null,
        int verbose = 1, int initialEpoch = 0, IReadOnlyDictionary<string, Tensor>? sampleWeight = null, IReadOnlyDictionary<int, double>? classWeight = null)
    {
        var xs = InputsByName(x, "inputs", nameof(x));
        var ys = TargetsByName(y, "targets", nameof(y));
        (IReadOnlyList<Tensor>, IReadOnlyList<Tensor>)? validation = validationData is { } vd
            ? (InputsByName(vd.X, "validation inputs", nameof(validationData)), TargetsByName(vd.Y, "validation targets", nameof(validationData)))
            : null;
        Tensor?[]? weights = sampleWeight is null ? null : Array.ConvertAll(TargetsByName(sampleWeight, "sample weights", nameof(sampleWeight)), t => (Tensor?)t);
        return Fit(xs, ys, epochs, batchSize, shuffle, validation, callbacks, verbose, initialEpoch, weights, classWeight);
    }

    /// <summary>Loss and metrics on dicts keyed by input and output names (see <see cref="Fit(IReadOnlyDictionary{string, Tensor}, IReadOnlyDictionary{string, Tensor}, int, int, bool, ValueTuple{IReadOnlyDictionary{string, Tensor}, IReadOnlyDictionary{string, Tensor}}?, IEnumerable{Callback}?, int, int, IReadOnlyDictionary{string, Tensor}?, IReadOnlyDictionary{int, double}?)"/>).</summary>
    /// <exception cref="ArgumentException">An unknown or missing name, a Sequential model, or bad data.</exception>
    /// <exception cref="InvalidOperationException">Not compiled, or a mutation is running on another thread.</exception>
    public Dictionary<string, double> Evaluate(IReadOnlyDictionary<string, Tensor> x, IReadOnlyDictionary<string, Tensor> y, int batchSize = 32) =>
        Evaluate(InputsByName(x, "inputs", nameof(x)), TargetsByName(y, "targets", nameof(y)), batchSize);

    /// <summary>Predictions for inputs keyed by input name: one heap tensor per output, in <see cref="Outputs"/> order (as Keras returns a list for a list of outputs).</summary>
    /// <exception cref="ArgumentException">An unknown or missing input name, a Sequential model, or bad data.</exception>
    /// <exception cref="InvalidOperationException">A mutation is running on another thread.</exception>
    public Tensor[] Predict(IReadOnlyDictionary<string, Tensor> x, int batchSize = 32) => PredictMany(InputsByName(x, "inputs", nameof(x)), batchSize);

    /// <summary>
    /// One optimizer step on dicts keyed by input and output names. Allocates nothing after the first call with the
    /// same tensors (the dicts are read by key into arrays kept for the next call).
    /// </summary>
    /// <returns>The batch loss (summed over outputs) before the update.</returns>
    /// <exception cref="ArgumentException">An unknown or missing name, a Sequential model, or bad data.</exception>
    /// <exception cref="InvalidOperationException">Not compiled, or another call runs on this model on another thread.</exception>
    /// <exception cref="TrainingDivergedException">A non-finite loss or gradient; the weights are left unchanged.</exception>
    public double TrainOnBatch(IReadOnlyDictionary<string, Tensor> x, IReadOnlyDictionary<string, Tensor> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        var inputNames = NamesFor(InputNames, "input", "inputs");
        var outputNames = NamesFor(OutputNames, "output", "targets");
        var xs = t_byNameX is { } bx && bx.Length == inputNames.Count ? bx : t_byNameX = new Tensor[inputNames.Count];
        var ys = t_byNameY is { } by && by.Length == outputNames.Count ? by : t_byNameY = new Tensor[outputNames.Count];
        try
        {
            FillByName(x, inputNames, "input", "inputs", nameof(x), xs);
            FillByName(y, outputNames, "output", "targets", nameof(y), ys);
            return TrainOnBatchCore(xs, ys, single: false);
        }
        finally
        {
            Array.Clear(xs);   // do not keep the caller's tensors alive
            Array.Clear(ys);
        }
    }

    // TrainOnBatch's arrays of the dicts' tensors in model order, reused so that a steady step allocates nothing; per
    // thread, because they are filled before the call claims the model.
    [ThreadStatic] private static Tensor[]? t_byNameX, t_byNameY;

    private Tensor[] InputsByName(IReadOnlyDictionary<string, Tensor> given, string what, string parameter)
    {
        ArgumentNullException.ThrowIfNull(given, parameter);
        var names = NamesFor(InputNames, "input", what);
        var result = new Tensor[names.Count];
        FillByName(given, names, "input", what, parameter, result);
        return result;
    }

    private Tensor[] TargetsByName(IReadOnlyDictionary<string, Tensor> given, string what, string parameter)
    {
        ArgumentNullException.ThrowIfNull(given, parameter);
        var names = NamesFor(OutputNames, "output", what);
        var result = new Tensor[names.Count];
        FillByName(given, names, "output", what, parameter, result);
        return result;
    }

    /// <summary>The output names for a dict-keyed call, refused for a Sequential model or outputs that share a name.</summary>
    private IReadOnlyList<string> OutputNamesFor(string what) => NamesFor(OutputNames, "output", what);

    /// <summary>The names dict keys must match: refused on a Sequential model (no names) and when two share a name (a key would be ambiguous).</summary>
    private IReadOnlyList<string> NamesFor(IReadOnlyList<string> names, string kind, string what)
    {
        if (_functional is null)
            throw new ArgumentException($"{Name}: {what} given as a dict keyed by {kind} name, but a Sequential model has no named {kind}s; pass tensors.");
        for (int i = 1; i < names.Count; i++)
            for (int j = 0; j < i; j++)
                if (names[i] == names[j])
                    throw new ArgumentException($"{Name}: {what} given as a dict, but {kind}s {j} and {i} are both named '{names[i]}' (one layer gives both); pass lists in {kind} order.");
        return names;
    }

    /// <summary>
    /// Writes <paramref name="given"/>[name] for each of <paramref name="names"/> into <paramref name="into"/>; refuses
    /// a missing name and a key that names nothing. Reads by key, so it allocates nothing when the dict is right.
    /// </summary>
    private void FillByName<T>(IReadOnlyDictionary<string, T> given, IReadOnlyList<string> names, string kind, string what, string parameter, T[] into)
    {
        for (int i = 0; i < names.Count; i++)
            if (!given.TryGetValue(names[i], out into[i]!))
                throw new ArgumentException($"{Name}: {what} have no entry for {kind} '{names[i]}'; the model's {kind}s are {string.Join(", ", names.Select(n => $"'{n}'"))}.", parameter);
        if (given.Count != names.Count) throw UnknownKeys(given.Keys, names, kind, what, parameter);
    }

    private ArgumentException UnknownKeys(IEnumerable<string> keys, IReadOnlyList<string> names, string kind, string what, string parameter)
    {
        var unknown = keys.Where(k => !names.Contains(k)).Select(k => $"'{k}'");
        return new ArgumentException($"{Name}: {what} name {string.Join(", ", unknown)}, which is no {kind} of the model; its {kind}s are {string.Join(", ", names.Select(n => $"'{n}'"))}.", parameter);
    }

    /// <summary>
    /// The values of <paramref name="given"/> in the order of <paramref name="names"/>, for compile settings keyed by
    /// output name: a missing name is refused when <paramref name="required"/>, else gets <paramref name="missing"/>.
    /// </summary>
    private T[] ByName<T>(IReadOnlyDictionary<string, T> given, IReadOnlyList<string> names, string kind, string what, string parameter, bool required, T missing = default!)
    {
        var result = new T[names.Count];
        int found = 0;
        for (int i = 0; i < names.Count; i++)
        {
            if (given.TryGetValue(names[i], out var value)) { result[i] = value; found++; }
            else if (required)
                throw new ArgumentException($"{Name}: {what} have no entry for {kind} '{names[i]}'; the model's {kind}s are {string.Join(", ", names.Select(n => $"'{n}'"))}.", parameter);
            else result[i] = missing;
        }
        if (found != given.Count) throw UnknownKeys(given.Keys, names, kind, what, parameter);
        return result;
    }
}
