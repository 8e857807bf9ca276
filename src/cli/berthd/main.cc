// berthd: the CRI v1 daemon (docs/berthd.md).
int main() { return 0; }
