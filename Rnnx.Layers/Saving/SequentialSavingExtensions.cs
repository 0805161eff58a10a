using Rnnx.Saving;

namespace Rnnx.Models;

/// <summary>
/// Saving members on <see cref="Model"/> and <see cref="Sequential"/> (C# 14 extension members over <see cref="ModelIO"/>):
/// <c>model.SaveWeights(path)</c>, <c>model.LoadWeights(path)</c>, <c>model.Save(path)</c>, <c>Sequential.Load(path)</c> and
/// <c>Model.Load(path)</c> (any model, functional or Sequential).
/// Declared in <c>Rnnx.Models</c>, Sequential's namespace, so the members come with the model without another using.
/// </summary>
public static class SequentialSavingExtensions
{
    /// <param name="model">The model.</param>
    extension(Model model)
    {
        /// <summary>Saves the weights as safetensors (see <see cref="ModelIO.SaveWeights"/>).</summary>
        /// <param name="path">The file.</param>
        public void SaveWeights(string path) => ModelIO.SaveWeights(model, path);

        /// <summary>Loads weights from a safetensors file, validating everything first (see <see cref="ModelIO.LoadWeights"/>).</summary>
        /// <param name="path">The file.</param>
        public void LoadWeights(string path) => ModelIO.LoadWeights(model, path);

        /// <summary>Saves the whole model, conventionally as <c>.rnnx</c> (see <see cref="ModelIO.Save"/>).</summary>
        /// <param name="path">The file.</param>
        /// <param name="options">What to include (default: compile settings and optimizer state when compiled).</param>
        public void Save(string path, SaveOptions? options = null) => ModelIO.Save(model, path, options);
    }

    extension(Sequential)
    {
        /// <summary>Loads a whole model saved with <c>Save</c> (see <see cref="ModelIO.Load"/>).</summary>
        /// <param name="path">The file.</param>
        /// <param name="compile">Also re-create the loss, metrics and optimizer with its state (default true).</param>
        /// <returns>The model, built with its saved weights.</returns>
        public static Sequential Load(string path, bool compile = true) => ModelIO.Load(path, compile);
    }
}

/// <summary><c>Model.Load(path)</c>: loads a whole model of any kind, functional or Sequential.</summary>
public static class ModelLoadingExtensions
{
    extension(Model)
    {
        /// <summary>Loads a whole model saved with <c>Save</c>, functional or Sequential (see <see cref="ModelIO.LoadModel"/>).</summary>
        /// <param name="path">The file.</param>
        /// <param name="compile">Also re-create the loss, metrics and optimizer with its state (default true).</param>
        /// <returns>The model, built with its saved weights.</returns>
        public static Model Load(string path, bool compile = true) => ModelIO.LoadModel(path, compile);
    }
}
