namespace Rnnx.Tests.TestUtilities;

/// <summary>Files of the repository (docs/data's real series), found from the test assembly's folder upwards.</summary>
internal static class RepoFiles
{
    /// <summary>The full path of <paramref name="relative"/> under the folder holding Rnnx.sln.</summary>
    public static string Path(string relative)
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Rnnx.sln"))) return System.IO.Path.Combine(dir.FullName, relative);
        throw new InvalidOperationException($"Rnnx.sln not found above {TestContext.CurrentContext.TestDirectory}.");
    }

    /// <summary>One column of a CSV file of docs/data.</summary>
    public static float[] Series(string file, string column) => Rnnx.Data.SeriesCsv.Read(Path(System.IO.Path.Combine("docs", "data", file)), column).Values;
}
